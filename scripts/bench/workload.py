"""The benchmark's search workload: distinct request bodies shaped like real traffic, with a skewed popularity.

Real users of a parts search mostly narrow it down (a mark or model, a part name they type, a colour, a price
range, new parts only); fewer run broad searches (one mark, one country, a colour or a name alone); few page
deep; a few find nothing. Popularity is skewed: within each kind, the body of rank r is drawn with a weight
proportional to 1 / r**ZIPF_EXPONENT, so a handful of bodies carry a large share of the traffic (what a
response cache lives on) and a long tail is seen once in a while.

Every value comes from the seed's own vocabulary (app/catalog/services.py: CATALOG, PART_NAMES, COLORS,
MAX_PRICE), read from its source so that this module needs no Django. The same seed gives the same bodies,
weights and order; each body is checked against the search contract's own parser.
"""

from __future__ import annotations

import ast
import hashlib
import json
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from search_contract import parse_search_request

ROOT = Path(__file__).resolve().parents[2]
VOCABULARY_SOURCE = ROOT / "app" / "catalog" / "services.py"

# Traffic share of each kind of body (the weights of its bodies sum to this share of WEIGHT_SCALE) and its
# share of the distinct bodies. Deep pages and empty results are many distinct bodies but little traffic.
KINDS: dict[str, tuple[float, float]] = {
    # kind: (traffic share, share of distinct bodies)
    "selective": (0.72, 0.70),
    "broad": (0.20, 0.15),
    "deep": (0.03, 0.11),
    "nothing": (0.05, 0.04),
}
ZIPF_EXPONENT = 1.0
WEIGHT_SCALE = 1_000_000
DEFAULT_DISTINCT = 1200
DEEP_PAGES = (50, 500)

# Values the seed never produces, for bodies that match nothing.
UNKNOWN_MARKS = ("Tesla", "Škoda", "Volvo", "Лада")
UNKNOWN_COUNTRIES = ("Китай", "Франция", "USA")
UNKNOWN_PART_WORDS = ("карбюратор", "turbo", "глушитель", "wiper")
UNKNOWN_COLORS = ("фиолетовый", "purple", "оранжевый")
SEED_MAX_COUNT = 50  # catalog/services.py: count is drawn from 0..50


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The values the catalog's seed draws from."""

    catalog: tuple[tuple[str, str, str], ...]  # (mark, producer country, model)
    part_names: tuple[str, ...]
    colors: tuple[str, ...]
    max_price: int


@dataclass(frozen=True, slots=True)
class WorkloadBody:
    """One distinct request body and how often it is drawn (``weight`` of the total)."""

    kind: str
    body: str  # compact JSON, UTF-8 text as sent
    weight: int


def vocabulary_load(path: Path = VOCABULARY_SOURCE) -> Vocabulary:
    """CATALOG, PART_NAMES, COLORS and MAX_PRICE, evaluated from the module's source as literals."""
    wanted = {"CATALOG", "PART_NAMES", "COLORS", "MAX_PRICE"}
    found: dict[str, Any] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name in wanted:
                found[name] = ast.literal_eval(node.value)
    missing = wanted - found.keys()
    if missing:
        raise ValueError(f"{path}: no literal {', '.join(sorted(missing))}")
    return Vocabulary(
        catalog=tuple(tuple(row) for row in found["CATALOG"]),
        part_names=tuple(found["PART_NAMES"]),
        colors=tuple(found["COLORS"]),
        max_price=int(found["MAX_PRICE"]),
    )


class _BodyMaker:
    """Random bodies of each kind from one seeded generator."""

    def __init__(self, rng: random.Random, vocabulary: Vocabulary) -> None:
        self.rng = rng
        self.vocabulary = vocabulary

    # Values, typed the way people type them.

    def typed(self, text: str) -> str:
        roll = self.rng.random()
        if roll < 0.6:
            return text.lower()
        if roll < 0.85:
            return text
        return text.upper()

    def name_fragment(self) -> str:
        """What a user types into the part-name box: usually the start of a word, sometimes the whole name."""
        name = self.rng.choice(self.vocabulary.part_names)
        if self.rng.random() < 0.1:
            return self.typed(name)
        word = self.rng.choice(name.split())
        length = self.rng.randint(min(3, len(word)), len(word))
        start = 0 if self.rng.random() < 0.7 else self.rng.randint(0, len(word) - length)
        return self.typed(word[start : start + length])

    def price_range(self) -> dict[str, int]:
        top = self.vocabulary.max_price
        low = self.rng.randrange(0, top, 500)
        high = min(top, low + self.rng.choice((1_000, 2_000, 5_000, 10_000, 20_000, 50_000)))
        roll = self.rng.random()
        if roll < 0.3:
            return {"price_gte": low}
        if roll < 0.5:
            return {"price_lte": high}
        return {"price_gte": low, "price_lte": high}

    def mark_row(self) -> tuple[str, str, str]:
        return self.rng.choice(self.vocabulary.catalog)

    def page(self) -> int:
        return 1 if self.rng.random() < 0.85 else self.rng.randint(2, 5)

    # Kinds.

    def vehicle(self) -> dict[str, Any]:
        """The car a selective search is for: its mark, its model, both, or ids of either."""
        mark, _country, model = self.mark_row()
        ids = range(1, len(self.vocabulary.catalog) + 1)
        roll = self.rng.random()
        if roll < 0.5:
            return {"mark_name": self.typed(mark)}
        if roll < 0.7:
            return {"model_name": self.typed(model)}
        if roll < 0.85:
            return {"mark_name": self.typed(mark), "model_name": self.typed(model)}
        # Ids as a client that listed /mark/ or /model/ first sends them; the seed creates marks and models in
        # CATALOG order, so on a fresh database these are its ids.
        field = "mark_list" if roll < 0.93 else "model_list"
        return {field: sorted(self.rng.sample(ids, self.rng.randint(1, 2)))}

    def selective(self) -> dict[str, Any]:
        """A mark or model, usually a part name, and one or two more filters."""
        body = self.vehicle()
        if self.rng.random() < 0.85:
            body["part_name"] = self.name_fragment()
        params: dict[str, Any] = {}
        extras = 0
        while extras == 0:
            if self.rng.random() < 0.45:
                params["color"] = self.typed(self.rng.choice(self.vocabulary.colors))
                extras += 1
            if self.rng.random() < 0.4:
                body.update(self.price_range())
                extras += 1
            if self.rng.random() < 0.35:
                params["is_new_part"] = self.rng.random() < 0.6
                extras += 1
            if self.rng.random() < 0.05:
                params["count"] = self.rng.randint(0, SEED_MAX_COUNT)
                extras += 1
        if params:
            body["params"] = params
        page = self.page()
        if page > 1:
            body["page"] = page
        return body

    def broad_filter(self) -> dict[str, Any]:
        mark, country, _model = self.mark_row()
        roll = self.rng.random()
        if roll < 0.25:
            return {"mark_name": self.typed(mark)}
        if roll < 0.45:
            body: dict[str, Any] = {"producer_country_name": self.typed(country)}
            if self.rng.random() < 0.5:
                body["params"] = {"is_new_part": self.rng.random() < 0.6}
            return body
        if roll < 0.6:
            return {"params": {"color": self.typed(self.rng.choice(self.vocabulary.colors))}}
        if roll < 0.85:
            return {"part_name": self.name_fragment()}
        return self.price_range()

    def broad(self) -> dict[str, Any]:
        """One filter that matches a large share of the catalog."""
        body = self.broad_filter()
        page = self.page()
        if page > 1:
            body["page"] = page
        return body

    def deep(self) -> dict[str, Any]:
        """A broad search (or none at all) paged far down."""
        body = {} if self.rng.random() < 0.15 else self.broad_filter()
        body["page"] = self.rng.randint(*DEEP_PAGES)
        return body

    def nothing(self) -> dict[str, Any]:
        """A search that matches no part: a value the seed never uses, or filters that exclude each other."""
        rows = self.vocabulary.catalog
        roll = self.rng.random()
        body: dict[str, Any]
        if roll < 0.2:
            body = {"mark_name": self.rng.choice(UNKNOWN_MARKS)}
        elif roll < 0.35:
            body = {"producer_country_name": self.rng.choice(UNKNOWN_COUNTRIES)}
        elif roll < 0.55:
            body = {"part_name": self.rng.choice(UNKNOWN_PART_WORDS)}
        elif roll < 0.7:
            body = {"params": {"color": self.rng.choice(UNKNOWN_COLORS)}}
        elif roll < 0.8:
            low = self.vocabulary.max_price + self.rng.randint(1, 100) * 100
            body = {"price_gte": low}
        elif roll < 0.9:
            body = {"params": {"count": self.rng.randint(SEED_MAX_COUNT + 1, 999)}}
        else:
            # A mark with another mark's model.
            first, second = self.rng.sample(range(len(rows)), 2)
            body = {"mark_name": rows[first][0], "model_name": rows[second][2]}
        if self.rng.random() < 0.5 and "part_name" not in body:
            body["part_name"] = self.name_fragment()
        return body


def _zipf_weights(count: int, share: float) -> list[int]:
    """Integer weights by rank (1 / rank**s), summing to about ``share`` of WEIGHT_SCALE, none below 1."""
    raw = [1 / (rank**ZIPF_EXPONENT) for rank in range(1, count + 1)]
    total = sum(raw)
    return [max(1, round(share * WEIGHT_SCALE * value / total)) for value in raw]


def _rank_penalty(text: str) -> float:
    body = json.loads(text)
    penalty = 1.0
    if body.get("page", 1) > 1:
        penalty *= 4
    if "mark_list" in body or "model_list" in body:
        penalty *= 3
    return penalty


def body_text(body: dict[str, Any]) -> str:
    """The body as sent: compact JSON, UTF-8 (Cyrillic as is, as browsers send it)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def workload_generate(
    *, seed: int = 1, distinct: int = DEFAULT_DISTINCT, vocabulary: Vocabulary | None = None
) -> list[WorkloadBody]:
    """``distinct`` different bodies with their weights, most popular first; the same seed, the same list."""
    vocabulary = vocabulary or vocabulary_load()
    rng = random.Random(seed)
    maker = _BodyMaker(rng, vocabulary)
    makers: dict[str, Callable[[], dict[str, Any]]] = {
        "selective": maker.selective,
        "broad": maker.broad,
        "deep": maker.deep,
        "nothing": maker.nothing,
    }
    counts = {kind: max(1, round(distinct * shares[1])) for kind, shares in KINDS.items()}
    counts["selective"] += distinct - sum(counts.values())

    seen: set[str] = set()
    result: list[WorkloadBody] = []
    for kind, (traffic_share, _distinct_share) in KINDS.items():
        texts: list[str] = []
        attempts = 0
        while len(texts) < counts[kind]:
            attempts += 1
            if attempts > counts[kind] * 200:
                raise ValueError(f"could not make {counts[kind]} distinct {kind} bodies from the vocabulary")
            body = makers[kind]()
            key = json.dumps(body, sort_keys=True)
            if key in seen:
                continue
            text = body_text(body)
            # The contract's own parser: a body it refuses would measure the 400 path, not a search.
            parse_search_request(text.encode("utf-8"))
            seen.add(key)
            texts.append(text)
        # Rank at random, but popular searches look like the usual case: a first page, names rather than ids.
        ranked = sorted(texts, key=lambda text: rng.random() * _rank_penalty(text))
        for text, weight in zip(ranked, _zipf_weights(len(ranked), traffic_share), strict=True):
            result.append(WorkloadBody(kind=kind, body=text, weight=weight))
    result.sort(key=lambda item: -item.weight)  # stable: ties keep their kind order
    return result


def bodies_write(path: Path, bodies: Iterable[WorkloadBody]) -> str:
    """Write ``weight<TAB>kind<TAB>body`` lines (what scripts/bench/wrk.lua reads); return the file's sha256."""
    text = "".join(f"{item.weight}\t{item.kind}\t{item.body}\n" for item in bodies)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def bodies_read(path: Path) -> list[WorkloadBody]:
    bodies = []
    for line in path.read_text(encoding="utf-8").splitlines():
        weight, kind, body = line.split("\t", 2)
        bodies.append(WorkloadBody(kind=kind, body=body, weight=int(weight)))
    return bodies


@dataclass(frozen=True, slots=True)
class WorkloadShape:
    """How the traffic is spread: for env.md and the tests."""

    distinct: int
    distinct_by_kind: dict[str, int]
    traffic_by_kind: dict[str, float]
    top1_share: float
    top10_share: float
    top100_share: float


def workload_shape(bodies: Sequence[WorkloadBody]) -> WorkloadShape:
    total = sum(item.weight for item in bodies)
    ranked = sorted((item.weight for item in bodies), reverse=True)
    distinct_by_kind: dict[str, int] = {}
    traffic_by_kind: dict[str, float] = {}
    for item in bodies:
        distinct_by_kind[item.kind] = distinct_by_kind.get(item.kind, 0) + 1
        traffic_by_kind[item.kind] = traffic_by_kind.get(item.kind, 0.0) + item.weight / total
    return WorkloadShape(
        distinct=len(bodies),
        distinct_by_kind=distinct_by_kind,
        traffic_by_kind=traffic_by_kind,
        top1_share=ranked[0] / total,
        top10_share=sum(ranked[:10]) / total,
        top100_share=sum(ranked[:100]) / total,
    )

"""The benchmark's search workload: distinct request bodies shaped like real traffic, with a skewed popularity.

Real users of a parts search mostly narrow it down (a mark or model, a part name they type, a colour, a price
range, new parts only); fewer run broad searches (one mark, one country, a colour or a name alone); few page
deep; a few find nothing. Popularity is skewed: within each kind, the body of rank r is drawn with a weight
proportional to 1 / r**exponent, so a handful of bodies carry a large share of the traffic (what a response
cache lives on) and a long tail is seen once in a while. No body carries more than MAX_BODY_SHARE of the
traffic: with a 10 % top body (the earlier mix) a response cache looked better than any real shop would see.

Every value comes from the vocabulary of the data profile being measured (app/catalog/profiles.py, loaded by
file path so that this module needs no Django). Price bounds are any integer, not round numbers: a design
that keeps totals per price band must not meet only the bands' own edges. The same seed and profile give
the same bodies, weights and order; each body is checked against the search contract's own parser.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import random
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from search_contract import parse_search_request

ROOT = Path(__file__).resolve().parents[2]
PROFILES_SOURCE = ROOT / "app" / "catalog" / "profiles.py"
DEFAULT_PROFILE = "task"

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
# No single body above this share of the traffic; what a capped body loses goes to the rest of its kind.
MAX_BODY_SHARE = 0.02
WEIGHT_SCALE = 1_000_000
DEFAULT_DISTINCT = 1200
# The long-tail scenario: so many distinct bodies, and a flatter skew, that a response cache misses often.
LONG_TAIL_DISTINCT = 50_000
LONG_TAIL_EXPONENT = 0.6
DEEP_PAGES = (50, 500)

# Values for bodies that match nothing; those the profile's vocabulary holds after all are left out.
UNKNOWN_MARKS = ("Tesla", "Škoda", "Volvo", "Лада", "Nomark-404")
UNKNOWN_COUNTRIES = ("Китай", "Франция", "USA", "Атлантида")
UNKNOWN_PART_WORDS = ("карбюратор", "turbo", "глушитель", "wiper", "zzqx")
UNKNOWN_COLORS = ("фиолетовый", "purple", "оранжевый", "ультрамарин-404")
SEED_MAX_COUNT = 50  # the task profile draws json_data's count from 0..50; selective bodies ask within it
# No profile draws a count this high (the realistic one stops at 500): a body asking for it finds nothing.
UNMATCHED_COUNTS = (1_000, 9_999)


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The values a data profile's seed draws from (app/catalog/profiles.py's Vocabulary, copied)."""

    marks: tuple[tuple[str, str], ...]  # (mark name, producer country); mark id = position + 1 on a fresh seed
    models: tuple[tuple[str, int], ...]  # (model name, index into marks); model id = position + 1
    part_names: tuple[str, ...]
    colors: tuple[str, ...]
    max_price: int


@dataclass(frozen=True, slots=True)
class WorkloadBody:
    """One distinct request body and how often it is drawn (``weight`` of the total)."""

    kind: str
    body: str  # compact JSON, UTF-8 text as sent
    weight: int


def profiles_module(path: Path = PROFILES_SOURCE) -> ModuleType:
    """app/catalog/profiles.py, imported from its file: the catalog package's __init__ (Django) is not run."""
    spec = importlib.util.spec_from_file_location("partscat_bench_catalog_profiles", path)
    if spec is None or spec.loader is None:
        raise ValueError(f"{path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the class is made.
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[spec.name]
        raise
    return module


def vocabulary_load(profile: str = DEFAULT_PROFILE, *, path: Path = PROFILES_SOURCE) -> Vocabulary:
    """The vocabulary of a data profile, from app/catalog/profiles.py's ``vocabulary(profile)``."""
    module = profiles_module(path)
    known = tuple(getattr(module, "PROFILES", ()))
    if profile not in known:
        raise ValueError(f"unknown data profile {profile!r}: {path} has {', '.join(known) or 'none'}")
    source = module.vocabulary(profile)
    vocabulary = Vocabulary(
        marks=tuple((str(name), str(country)) for name, country in source.marks),
        models=tuple((str(name), int(mark)) for name, mark in source.models),
        part_names=tuple(str(name) for name in source.part_names),
        colors=tuple(str(color) for color in source.colors),
        max_price=int(source.max_price),
    )
    if not (vocabulary.marks and vocabulary.models and vocabulary.part_names and vocabulary.colors):
        raise ValueError(f"profile {profile!r}: an empty list of marks, models, part names or colours")
    if any(not 0 <= mark < len(vocabulary.marks) for _name, mark in vocabulary.models):
        raise ValueError(f"profile {profile!r}: a model's mark index is out of range")
    return vocabulary


def _unknown(candidates: Sequence[str], known: Iterable[str], *, substring: bool = False) -> tuple[str, ...]:
    """The candidates that match nothing the vocabulary holds, case-insensitively (as a substring, if asked)."""
    known_lower = [value.lower() for value in known]
    if substring:
        return tuple(value for value in candidates if not any(value.lower() in text for text in known_lower))
    return tuple(value for value in candidates if value.lower() not in known_lower)


class _BodyMaker:
    """Random bodies of each kind from one seeded generator."""

    def __init__(self, rng: random.Random, vocabulary: Vocabulary) -> None:
        self.rng = rng
        self.vocabulary = vocabulary
        self.unknown_marks = _unknown(UNKNOWN_MARKS, (name for name, _country in vocabulary.marks))
        self.unknown_countries = _unknown(UNKNOWN_COUNTRIES, (country for _name, country in vocabulary.marks))
        self.unknown_part_words = _unknown(UNKNOWN_PART_WORDS, vocabulary.part_names, substring=True)
        self.unknown_colors = _unknown(UNKNOWN_COLORS, vocabulary.colors)
        # Model names, lower case, of each mark: two marks may have models of the same name.
        self.models_of: dict[str, set[str]] = {}
        for model, mark in vocabulary.models:
            self.models_of.setdefault(vocabulary.marks[mark][0].lower(), set()).add(model.lower())
        if not (self.unknown_marks and self.unknown_countries and self.unknown_part_words and self.unknown_colors):
            raise ValueError("the vocabulary holds every value meant to match nothing")

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

    def price(self) -> int:
        """Any integer in 0..max_price; small prices more often (log-uniform), as people look for them."""
        top = self.vocabulary.max_price
        if self.rng.random() < 0.3:
            return self.rng.randint(0, top)
        return min(top, round(10 ** self.rng.uniform(0, math.log10(top + 1))) - 1 + self.rng.randint(0, 1))

    def price_range(self) -> dict[str, int]:
        top = self.vocabulary.max_price
        low = self.price()
        width = self.rng.choice((0.01, 0.02, 0.05, 0.1, 0.2, 0.5)) * max(low, top // 20)
        high = min(top, low + max(1, round(width * self.rng.uniform(0.5, 1.5))))
        roll = self.rng.random()
        if roll < 0.3:
            return {"price_gte": low}
        if roll < 0.5:
            return {"price_lte": high}
        return {"price_gte": low, "price_lte": high}

    def mark(self) -> tuple[str, str]:
        return self.rng.choice(self.vocabulary.marks)

    def model(self) -> tuple[str, str]:
        """A model and its own mark's name."""
        name, mark = self.rng.choice(self.vocabulary.models)
        return name, self.vocabulary.marks[mark][0]

    def page(self) -> int:
        return 1 if self.rng.random() < 0.85 else self.rng.randint(2, 5)

    # Kinds.

    def vehicle(self) -> dict[str, Any]:
        """The car a selective search is for: its mark, its model, both, or ids of either."""
        roll = self.rng.random()
        if roll < 0.5:
            return {"mark_name": self.typed(self.mark()[0])}
        model, mark = self.model()
        if roll < 0.7:
            return {"model_name": self.typed(model)}
        if roll < 0.85:
            return {"mark_name": self.typed(mark), "model_name": self.typed(model)}
        # Ids as a client that listed /mark/ or /model/ first sends them; the seed creates marks and models in
        # the vocabulary's order, so on a fresh database these are its ids.
        field, count = ("mark_list", len(self.vocabulary.marks)) if roll < 0.93 else ("model_list", 0)
        count = count or len(self.vocabulary.models)
        return {field: sorted(self.rng.sample(range(1, count + 1), min(count, self.rng.randint(1, 2))))}

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
        mark, country = self.mark()
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
        roll = self.rng.random()
        body: dict[str, Any]
        if roll < 0.2:
            body = {"mark_name": self.rng.choice(self.unknown_marks)}
        elif roll < 0.35:
            body = {"producer_country_name": self.rng.choice(self.unknown_countries)}
        elif roll < 0.55:
            body = {"part_name": self.rng.choice(self.unknown_part_words)}
        elif roll < 0.7:
            body = {"params": {"color": self.rng.choice(self.unknown_colors)}}
        elif roll < 0.8:
            body = {"price_gte": self.vocabulary.max_price + self.rng.randint(1, 10_000)}
        elif roll < 0.9 or len(self.vocabulary.marks) < 2:
            body = {"params": {"count": self.rng.randint(*UNMATCHED_COUNTS)}}
        else:
            # A mark with another mark's model.
            model, _own_mark = self.model()
            others = [
                name
                for name, _country in self.vocabulary.marks
                if model.lower() not in self.models_of.get(name.lower(), set())
            ]
            body = {"mark_name": self.rng.choice(others), "model_name": model} if others else {"mark_name": "Nomark"}
        if self.rng.random() < 0.5 and "part_name" not in body:
            body["part_name"] = self.name_fragment()
        return body


def _zipf_weights(count: int, share: float, *, exponent: float = ZIPF_EXPONENT) -> list[int]:
    """Integer weights by rank (1 / rank**exponent), summing to about ``share`` of WEIGHT_SCALE, none below 1,
    none above MAX_BODY_SHARE of WEIGHT_SCALE: what the cap takes from the head goes to the rest in proportion."""
    raw = [1 / (rank**exponent) for rank in range(1, count + 1)]
    cap = MAX_BODY_SHARE * WEIGHT_SCALE
    budget = share * WEIGHT_SCALE
    capped = 0  # the first `capped` ranks sit at the cap
    while capped < count:
        rest = sum(raw[capped:])
        if budget - capped * cap <= 0 or (budget - capped * cap) * raw[capped] / rest <= cap:
            break
        capped += 1
    rest = sum(raw[capped:])
    left = budget - capped * cap
    weights = [cap] * capped + [left * value / rest for value in raw[capped:]] if rest else [cap] * capped
    return [max(1, min(int(cap), round(value))) for value in weights]


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
    *,
    seed: int = 1,
    distinct: int = DEFAULT_DISTINCT,
    vocabulary: Vocabulary | None = None,
    exponent: float = ZIPF_EXPONENT,
) -> list[WorkloadBody]:
    """``distinct`` different bodies with their weights, most popular first; the same seed and vocabulary, the
    same list. ``vocabulary`` defaults to the task profile's."""
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
            if attempts > counts[kind] * 200 + 1000:
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
        for text, weight in zip(ranked, _zipf_weights(len(ranked), traffic_share, exponent=exponent), strict=True):
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


def workload_summary(bodies: Sequence[WorkloadBody], digest: str) -> dict[str, Any]:
    """A bodies file's shape, for results.json and env.md."""
    shape = workload_shape(bodies)
    return {
        "distinct": shape.distinct,
        "sha256": digest,
        "distinct_by_kind": shape.distinct_by_kind,
        "traffic_by_kind": {key: round(value, 4) for key, value in shape.traffic_by_kind.items()},
        "top1_share": round(shape.top1_share, 4),
        "top10_share": round(shape.top10_share, 4),
        "top100_share": round(shape.top100_share, 4),
    }

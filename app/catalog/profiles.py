"""The seed's data profiles: each one's vocabulary and its draw of one random part. Standard library only.

``task`` is the catalog the task describes (5 marks with one model each, 15 part names, 8 colours, prices
spread evenly up to 100 000), whose 2 025 groups flatter every design. ``realistic`` is shaped like a real
parts catalog: 64 marks, 2 000 models spread very unevenly over them, 5 000 part names, 24 colours; marks,
models, names and colours drawn with Zipf-like frequencies (rank r weighs 1/r), prices log-normal.

Everything is generated procedurally from fixed string seeds, so a profile and a seed always give the same
parts, on any machine and Python 3 version (``random.Random`` seeded from a string hashes it with SHA-512).

No Django here (catalog/services.py turns a draw into ``Part`` rows), so the benchmark (scripts/bench) can
load this file by path. No ``from __future__ import annotations`` either: a dataclass with string
annotations needs its module in ``sys.modules``, which a module loaded by path is not.
"""

import bisect
import functools
import itertools
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

PROFILES = ("task", "realistic")
DEFAULT_PROFILE = "task"

# The task profile, exactly as the seed has drawn it from the start (literals: keep them literals).
# (mark, producer country, model): 5 marks with one model each.
CATALOG = (
    ("Honda", "Япония", "Accord"),
    ("Toyota", "Япония", "Camry"),
    ("BMW", "Германия", "X5"),
    ("Lada", "Россия", "Vesta"),
    ("Hyundai", "Южная Корея", "Solaris"),
)
PART_NAMES = (
    "Бампер передний",
    "Бампер задний",
    "Фара левая",
    "Фара правая",
    "Капот",
    "Крыло переднее левое",
    "Зеркало боковое",
    "Радиатор",
    "Тормозной диск",
    "Лобовое стекло",
    "Brake pad",
    "Oil filter",
    "Air filter",
    "Spark plug",
    "Timing belt",
)
COLORS = ("черный", "белый", "красный", "синий", "серебристый", "зеленый", "Black", "White")
MAX_PRICE = 100_000
VISIBLE_SHARE = 0.9
KEY_SHARE = 0.5  # each json_data key is present in about half of the parts


@dataclass(frozen=True)
class Vocabulary:
    """What a profile's parts are made of; a part's model is an index into ``models``, a model's mark one
    into ``marks``. Every sequence is in rank order: where a profile weighs them, the first is the commonest."""

    marks: tuple[tuple[str, str], ...]  # (mark name, producer country)
    models: tuple[tuple[str, int], ...]  # (model name, index into marks)
    part_names: tuple[str, ...]
    colors: tuple[str, ...]
    max_price: int


class PartFields(NamedTuple):
    """One random part, before it is a row: ``model`` indexes ``Vocabulary.models``."""

    name: str
    model: int
    price: int
    json_data: dict[str, Any]
    is_visible: bool


PartDraw = Callable[[random.Random], PartFields]


class WeightedIndex:
    """Draws an index with the given weights from one ``rng.random()``: the cumulative weights are summed once,
    then each draw is a bisection (what ``random.choices(cum_weights=...)`` does, without its list per call)."""

    __slots__ = ("_cumulative", "_last", "_total")

    def __init__(self, weights: Sequence[float]) -> None:
        if not weights or min(weights) <= 0:
            raise ValueError("weights must be a non-empty sequence of positive numbers")
        self._cumulative = tuple(itertools.accumulate(weights))
        self._total = self._cumulative[-1]
        self._last = len(self._cumulative) - 1

    def draw(self, rng: random.Random) -> int:
        # hi=last: a rounding error at the very top can never index past the end.
        return bisect.bisect(self._cumulative, rng.random() * self._total, 0, self._last)


def zipf_weights(count: int, *, exponent: float = 1.0) -> list[float]:
    """The weight of each of ``count`` ranks, rank r (from 1) weighing 1 / r**exponent."""
    return [1 / rank**exponent for rank in range(1, count + 1)]


def zipf_split(total: int, *, parts: int, exponent: float = 1.0) -> list[int]:
    """``total`` cut into ``parts`` Zipf-weighted whole shares, each at least 1, summing to ``total`` exactly
    (largest remainders get the rounding)."""
    if total < parts:
        raise ValueError(f"cannot give each of {parts} shares at least 1 of {total}")
    weights = zipf_weights(parts, exponent=exponent)
    spare = total - parts
    exact = [spare * weight / sum(weights) for weight in weights]
    shares = [1 + math.floor(value) for value in exact]
    by_remainder = sorted(range(parts), key=lambda index: (exact[index] - math.floor(exact[index]), -index))
    for index in by_remainder[len(by_remainder) - (total - sum(shares)) :]:
        shares[index] += 1
    return shares


# The realistic profile's vocabulary. Real marks first, commonest first, with the task profile's countries
# for the marks both profiles have (a mark is one row, whichever profile created it).
REAL_MARKS = (
    ("Toyota", "Япония"),
    ("Lada", "Россия"),
    ("Kia", "Южная Корея"),
    ("Hyundai", "Южная Корея"),
    ("Volkswagen", "Германия"),
    ("Renault", "Франция"),
    ("Nissan", "Япония"),
    ("Chery", "Китай"),
    ("BMW", "Германия"),
    ("Mercedes-Benz", "Германия"),
    ("Haval", "Китай"),
    ("Geely", "Китай"),
    ("Mitsubishi", "Япония"),
    ("Honda", "Япония"),
    ("Ford", "США"),
    ("Mazda", "Япония"),
    ("Audi", "Германия"),
    ("Chevrolet", "США"),
    ("Opel", "Германия"),
    ("Peugeot", "Франция"),
    ("Subaru", "Япония"),
    ("Lexus", "Япония"),
    ("Volvo", "Швеция"),
    ("Suzuki", "Япония"),
    ("Land Rover", "Великобритания"),
    ("UAZ", "Россия"),
    ("GAZ", "Россия"),
    ("Citroen", "Франция"),
    ("Changan", "Китай"),
    ("Exeed", "Китай"),
    ("Infiniti", "Япония"),
    ("Porsche", "Германия"),
    ("Jeep", "США"),
    ("Fiat", "Италия"),
    ("SsangYong", "Южная Корея"),
    ("Daewoo", "Южная Корея"),
    ("Great Wall", "Китай"),
    ("Datsun", "Япония"),
    ("Jaguar", "Великобритания"),
    ("Mini", "Великобритания"),
    ("Seat", "Испания"),
    ("Alfa Romeo", "Италия"),
    ("Cadillac", "США"),
    ("Tesla", "США"),
)
REALISTIC_MARKS = 64
REALISTIC_MODELS = 2_000
REALISTIC_PART_NAMES = 5_000
# Countries of the generated (small, rare) marks, in turn.
SMALL_MARK_COUNTRIES = ("Китай", "Россия", "Индия", "Турция", "Италия", "Чехия", "Малайзия", "Иран")
SYLLABLES_START = (
    *("Ar", "Bel", "Cor", "Dar", "El", "Fen", "Gal", "Hel", "Is", "Kor", "Lum", "Mar", "Nor"),
    *("Or", "Pal", "Quin", "Ros", "Sel", "Tor", "Val", "Ver", "Zen", "Cal", "Mir", "Sol"),
)
SYLLABLES_MIDDLE = ("", "", "an", "en", "ar", "or", "il", "er", "am", "in", "ol")
SYLLABLES_END = ("a", "ex", "ion", "is", "o", "on", "ra", "us", "ia", "et", "ano", "ix", "ento", "ara")
MODEL_TRIMS = ("", "", "", "", "Sport", "Cross", "GT", "Hybrid", "Long", "Coupe", "Wagon", "II", "III", "Plus")
MODEL_LETTERS = ("A", "C", "D", "E", "F", "G", "GL", "GS", "H", "K", "LX", "M", "Q", "RX", "S", "T", "V", "X", "Z")

# A part name is a kind plus whichever of its attributes apply, in this order: position, side, level, variant,
# grade. Flags: p = front/rear, s = left/right, u = upper/lower; every kind has variants and grades.
POSITIONS = ("front", "rear")
SIDES = ("left", "right")
LEVELS = ("upper", "lower")
GRADES = ("OEM", "aftermarket", "premium")
PART_KINDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Brake pad", "ps", ("ceramic", "semi-metallic", "organic", "low-dust")),
    ("Brake disc", "ps", ("vented", "solid", "drilled", "slotted")),
    ("Brake caliper", "ps", ("remanufactured", "new", "with bracket")),
    ("Brake hose", "ps", ("rubber", "braided")),
    ("Brake drum", "s", ("cast iron",)),
    ("Wheel bearing", "ps", ("with hub", "kit", "ABS sensor ring")),
    ("Wheel hub", "ps", ("with bearing", "flanged")),
    ("ABS sensor", "ps", ("with cable", "magnetic")),
    ("Shock absorber", "ps", ("gas", "oil", "sport", "heavy duty")),
    ("Strut mount", "ps", ("with bearing", "rubber")),
    ("Coil spring", "ps", ("standard", "lowered", "reinforced")),
    ("Control arm", "psu", ("steel", "aluminium", "with ball joint")),
    ("Ball joint", "psu", ("pressed", "bolted")),
    ("Stabilizer link", "ps", ("steel", "plastic", "reinforced")),
    ("Stabilizer bushing", "p", ("rubber", "polyurethane")),
    ("Silent block", "psu", ("rubber", "polyurethane", "hydraulic")),
    ("Tie rod end", "s", ("standard", "reinforced")),
    ("Tie rod", "s", ("with boot",)),
    ("CV joint", "s", ("inner", "outer", "kit")),
    ("CV boot", "s", ("inner", "outer", "silicone")),
    ("Drive shaft", "ps", ("new", "remanufactured")),
    ("Headlight", "s", ("halogen", "xenon", "LED", "adaptive")),
    ("Tail light", "s", ("LED", "halogen", "outer", "inner")),
    ("Fog light", "ps", ("halogen", "LED", "with frame")),
    ("Turn signal", "ps", ("amber", "clear", "in mirror")),
    ("Side mirror", "s", ("heated", "power folding", "manual", "with blind spot lamp")),
    ("Mirror glass", "s", ("heated", "aspheric", "plain")),
    ("Bumper", "p", ("primed", "painted", "with sensor holes", "chrome")),
    ("Bumper bracket", "ps", ("plastic", "steel")),
    ("Bumper reinforcement", "p", ("steel", "aluminium")),
    ("Fender", "ps", ("steel", "aluminium", "primed")),
    ("Fender liner", "ps", ("plastic", "felt")),
    ("Door", "ps", ("bare shell", "complete", "primed")),
    ("Door handle", "ps", ("outer", "inner", "chrome", "keyless")),
    ("Door lock", "ps", ("electric", "mechanical")),
    ("Window regulator", "ps", ("electric", "manual", "with motor")),
    ("Door seal", "ps", ("rubber",)),
    ("Hood", "", ("steel", "aluminium", "carbon")),
    ("Hood hinge", "s", ("steel",)),
    ("Trunk lid", "", ("steel", "with spoiler")),
    ("Gas spring", "", ("hood", "trunk", "tailgate")),
    ("Windshield", "", ("heated", "acoustic", "with rain sensor", "tinted")),
    ("Rear window", "", ("heated", "tinted")),
    ("Side window", "ps", ("tinted", "clear")),
    ("Wiper blade", "ps", ("frameless", "framed", "hybrid", "winter")),
    ("Wiper motor", "p", ("with linkage", "without linkage")),
    ("Grille", "", ("chrome", "black", "with emblem", "honeycomb")),
    ("Radiator", "", ("aluminium", "copper", "with automatic gearbox cooler")),
    ("Radiator fan", "", ("with shroud", "single", "double")),
    ("Intercooler", "", ("aluminium",)),
    ("AC condenser", "", ("aluminium", "with drier")),
    ("AC compressor", "", ("new", "remanufactured")),
    ("Heater core", "", ("aluminium", "copper")),
    ("Cabin filter", "", ("carbon", "standard", "antibacterial")),
    ("Oil filter", "", ("spin-on", "cartridge", "long life")),
    ("Air filter", "", ("paper", "sport", "cotton")),
    ("Fuel filter", "", ("in-line", "with heater", "in tank")),
    ("Spark plug", "", ("iridium", "platinum", "nickel", "double platinum")),
    ("Ignition coil", "", ("pencil", "block", "with plug connector")),
    ("Glow plug", "", ("ceramic", "metal")),
    ("Timing belt", "", ("kit", "with water pump", "belt only")),
    ("Timing chain", "", ("kit", "with tensioner", "chain only")),
    ("Drive belt", "", ("ribbed", "with tensioner")),
    ("Belt tensioner", "", ("automatic", "mechanical")),
    ("Water pump", "", ("mechanical", "electric", "with gasket")),
    ("Thermostat", "", ("with housing", "insert", "electronic")),
    ("Oil pump", "", ("new", "with gasket")),
    ("Fuel pump", "", ("electric", "mechanical", "module")),
    ("Injector", "", ("petrol", "diesel", "remanufactured")),
    ("Throttle body", "", ("electronic", "cable")),
    ("Oxygen sensor", "", ("upstream", "downstream", "wideband")),
    ("Mass air flow sensor", "", ("with housing", "insert")),
    ("Camshaft sensor", "", ("inlet", "exhaust")),
    ("Crankshaft sensor", "", ("inductive", "Hall")),
    ("Engine mount", "ps", ("hydraulic", "rubber", "reinforced")),
    ("Gearbox mount", "s", ("rubber", "hydraulic")),
    ("Exhaust muffler", "p", ("stainless", "aluminized", "sport")),
    ("Catalytic converter", "", ("ceramic", "metal", "Euro 5")),
    ("Exhaust gasket", "p", ("metal", "graphite")),
    ("Clutch kit", "", ("three-piece", "with release bearing", "with flywheel", "heavy duty")),
    ("Flywheel", "", ("dual-mass", "single-mass")),
    ("Clutch cable", "", ("adjustable", "fixed")),
    ("Gear lever", "", ("with boot", "leather")),
    ("Steering rack", "", ("hydraulic", "electric", "remanufactured")),
    ("Power steering pump", "", ("hydraulic", "electric")),
    ("Steering wheel", "", ("leather", "heated", "with airbag cover")),
    ("Battery", "", ("60 Ah", "75 Ah", "90 Ah", "AGM", "EFB")),
    ("Alternator", "", ("90 A", "120 A", "150 A", "remanufactured")),
    ("Starter", "", ("new", "remanufactured", "reduction gear")),
    ("Horn", "", ("low tone", "high tone", "pair")),
    ("Parking sensor", "p", ("inner", "outer", "painted")),
    ("Seat cover", "ps", ("leather", "fabric", "eco-leather")),
    ("Seat belt", "ps", ("with pretensioner", "standard")),
    ("Floor mat", "ps", ("rubber", "textile", "3D")),
    ("Emblem", "p", ("chrome", "black")),
    ("Moulding", "ps", ("chrome", "black", "door")),
    ("Mud flap", "ps", ("rubber", "plastic")),
    ("Wheel rim", "", ('15" steel', '16" alloy', '17" alloy', '18" alloy', '19" alloy')),
    ("Hub cap", "", ('14"', '15"', '16"')),
    ("Engine oil", "", ("5W-30 4 L", "5W-40 4 L", "0W-20 4 L", "10W-40 4 L", "5W-30 1 L")),
    ("Coolant", "", ("G12 5 L", "G13 5 L", "concentrate 1 L")),
    ("Brake fluid", "", ("DOT 4 1 L", "DOT 4 0.5 L", "DOT 5.1 0.5 L")),
)
# Colours, commonest first: both alphabets and cases, as sellers type them.
REALISTIC_COLORS = (
    "черный",
    "белый",
    "серебристый",
    "серый",
    "Black",
    "White",
    "синий",
    "красный",
    "Silver",
    "коричневый",
    "бежевый",
    "зеленый",
    "Grey",
    "бордовый",
    "графит",
    "Red",
    "Blue",
    "голубой",
    "золотистый",
    "желтый",
    "мокрый асфальт",
    "ЧЕРНЫЙ",
    "хром",
    "Beige",
)
REALISTIC_MAX_PRICE = 3_000_000  # the column is an integer (2**31 - 1); a whole engine costs about a million
REALISTIC_MEDIAN_PRICE = 2_500  # log-normal: half the parts cost less than this
REALISTIC_PRICE_SIGMA = 1.3  # 5 % above about 21 000, 0.1 % above about 140 000
REALISTIC_VISIBLE_SHARE = 0.95
# Each json_data key's share of the parts; of those with is_new_part, the share of new ones; mean stock count.
REALISTIC_COLOR_SHARE = 0.6
REALISTIC_IS_NEW_SHARE = 0.8
REALISTIC_NEW_SHARE = 0.7
REALISTIC_COUNT_SHARE = 0.7
REALISTIC_MEAN_COUNT = 4.0
REALISTIC_MAX_COUNT = 500


def _invented_word(rng: random.Random) -> str:
    return rng.choice(SYLLABLES_START) + rng.choice(SYLLABLES_MIDDLE) + rng.choice(SYLLABLES_END)


def _realistic_marks() -> tuple[tuple[str, str], ...]:
    rng = random.Random("realistic marks")  # noqa: S311 (reproducible data, not secrets)
    marks = list(REAL_MARKS)
    taken = {name for name, _ in marks}
    while len(marks) < REALISTIC_MARKS:
        name = _invented_word(rng)
        if name not in taken:
            taken.add(name)
            marks.append((name, SMALL_MARK_COUNTRIES[len(marks) % len(SMALL_MARK_COUNTRIES)]))
    return tuple(marks)


def _model_name(rng: random.Random) -> str:
    """A model name as marks make them up: an invented word (Solaris, Vesta) or letters and digits (X5, RX 350),
    sometimes with a trim."""
    if rng.random() < 0.6:
        base = _invented_word(rng)
    else:
        digits = str(rng.choice((rng.randint(1, 9), rng.randint(10, 99), rng.randint(100, 990))))
        base = rng.choice(MODEL_LETTERS) + rng.choice(("", "-", " ")) + digits
    trim = rng.choice(MODEL_TRIMS)
    return f"{base} {trim}" if trim else base


def _realistic_models(mark_count: int) -> tuple[tuple[str, int], ...]:
    """REALISTIC_MODELS models, each mark's share by its rank (the commonest mark has the most models); names
    distinct over the whole catalog, so a model name alone says which one it is."""
    rng = random.Random("realistic models")  # noqa: S311 (reproducible data, not secrets)
    shares = zipf_split(REALISTIC_MODELS, parts=mark_count)
    models: list[tuple[str, int]] = []
    taken: set[str] = set()
    for mark, share in enumerate(shares):
        made = 0
        while made < share:
            name = _model_name(rng)
            if name not in taken:
                taken.add(name)
                models.append((name, mark))
                made += 1
    return tuple(models)


def _kind_names(kind: str, flags: str, variants: tuple[str, ...]) -> list[tuple[int, str]]:
    """Every name of one kind, each applicable attribute present or not, with its number of attributes."""
    axes: list[tuple[str, ...]] = []
    for flag, values in (("p", POSITIONS), ("s", SIDES), ("u", LEVELS)):
        if flag in flags:
            axes.append(("", *values))
    axes += [("", *variants), ("", *GRADES)]
    names = []
    for words in itertools.product(*axes):
        attributes = [word for word in words if word]
        names.append((len(attributes), " ".join([kind, *attributes])))
    return names


def _realistic_part_names() -> tuple[str, ...]:
    """REALISTIC_PART_NAMES distinct names, commonest first: the fewer attributes, the higher the rank (a bare
    "Oil filter" is asked for more than "Control arm front left lower aluminium OEM"), shuffled within each
    number of attributes."""
    rng = random.Random("realistic part names")  # noqa: S311 (reproducible data, not secrets)
    names = [named for kind in PART_KINDS for named in _kind_names(*kind)]
    rng.shuffle(names)
    names.sort(key=lambda named: named[0])
    if len(names) < REALISTIC_PART_NAMES:
        raise AssertionError(f"PART_KINDS make only {len(names)} names")
    return tuple(name for _, name in names[:REALISTIC_PART_NAMES])


@functools.cache
def vocabulary(profile: str) -> Vocabulary:
    """The vocabulary of ``profile`` (one of PROFILES), built once per process."""
    if profile == "task":
        return Vocabulary(
            marks=tuple((mark, country) for mark, country, _ in CATALOG),
            models=tuple((model, index) for index, (_, _, model) in enumerate(CATALOG)),
            part_names=PART_NAMES,
            colors=COLORS,
            max_price=MAX_PRICE,
        )
    if profile == "realistic":
        marks = _realistic_marks()
        return Vocabulary(
            marks=marks,
            models=_realistic_models(len(marks)),
            part_names=_realistic_part_names(),
            colors=REALISTIC_COLORS,
            max_price=REALISTIC_MAX_PRICE,
        )
    raise ValueError(f"unknown profile {profile!r}: must be one of {', '.join(PROFILES)}")


def _task_draw(words: Vocabulary) -> PartDraw:
    """Uniform choices, drawn in the order the seed has always drawn them: the same seed gives the same parts."""
    models = range(len(words.models))
    names, colors, max_price = words.part_names, words.colors, words.max_price

    def draw(rng: random.Random) -> PartFields:
        model = rng.choice(models)
        name = rng.choice(names)
        price = rng.randint(0, max_price)
        data: dict[str, Any] = {}
        if rng.random() < KEY_SHARE:
            data["color"] = rng.choice(colors)
        if rng.random() < KEY_SHARE:
            data["is_new_part"] = rng.random() < 0.5
        if rng.random() < KEY_SHARE:
            data["count"] = rng.randint(0, 50)
        return PartFields(name, model, price, data, rng.random() < VISIBLE_SHARE)

    return draw


def model_weights(words: Vocabulary) -> list[float]:
    """Each model's share of the parts: its mark's Zipf weight (by mark rank) split Zipf-wise over the mark's
    models (by their rank within the mark), so both marks and models are skewed."""
    per_mark: dict[int, int] = {}
    ranks = []
    for _, mark in words.models:
        per_mark[mark] = per_mark.get(mark, 0) + 1
        ranks.append(per_mark[mark])
    mark_weights = zipf_weights(len(words.marks))
    within = {mark: sum(zipf_weights(count)) for mark, count in per_mark.items()}
    return [mark_weights[mark] / rank / within[mark] for (_, mark), rank in zip(words.models, ranks, strict=True)]


def _realistic_draw(words: Vocabulary) -> PartDraw:
    models = WeightedIndex(model_weights(words))
    names = WeightedIndex(zipf_weights(len(words.part_names)))
    colors = WeightedIndex(zipf_weights(len(words.colors)))
    part_names, color_names, max_price = words.part_names, words.colors, words.max_price
    mu = math.log(REALISTIC_MEDIAN_PRICE)

    def draw(rng: random.Random) -> PartFields:
        model = models.draw(rng)
        name = part_names[names.draw(rng)]
        price = min(max_price, max(1, int(rng.lognormvariate(mu, REALISTIC_PRICE_SIGMA))))
        data: dict[str, Any] = {}
        if rng.random() < REALISTIC_COLOR_SHARE:
            data["color"] = color_names[colors.draw(rng)]
        if rng.random() < REALISTIC_IS_NEW_SHARE:
            data["is_new_part"] = rng.random() < REALISTIC_NEW_SHARE
        if rng.random() < REALISTIC_COUNT_SHARE:
            data["count"] = min(REALISTIC_MAX_COUNT, int(rng.expovariate(1 / REALISTIC_MEAN_COUNT)))
        return PartFields(name, model, price, data, rng.random() < REALISTIC_VISIBLE_SHARE)

    return draw


@functools.cache
def part_draw(profile: str) -> PartDraw:
    """The function that draws one random part of ``profile`` from an ``rng``."""
    words = vocabulary(profile)
    return _task_draw(words) if profile == "task" else _realistic_draw(words)

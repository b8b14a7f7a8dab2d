"""catalog/profiles.py: the seed's vocabularies and part draws, without Django or a database."""

from __future__ import annotations

import collections
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from catalog.profiles import (
    CATALOG,
    COLORS,
    MAX_PRICE,
    PART_NAMES,
    PROFILES,
    REAL_MARKS,
    WeightedIndex,
    part_draw,
    vocabulary,
    zipf_split,
)

PROFILES_FILE = Path(__file__).resolve().parents[2] / "app" / "catalog" / "profiles.py"

# sha256 of 3 000 parts drawn by the seed's generator as it was before profiles existed (catalog/services.py
# at 8ec84dd), for random.Random(7) and for the seed job's first batch of seed 5: the task profile must keep
# drawing exactly these parts. Each line: name|model index|price|json_data (sorted keys)|is_visible.
TASK_DRAWS_BEFORE_PROFILES = {
    7: "a09276d97641bfb6251dc01fa2128e70bf8988b9c686f5bf865e60b3f12e609c",
    "5/0": "5b34dd515e9759c05147090062771e7e873ff2797584fa69b302de9f07569b43",
}

# Prints the digest of a profile's vocabulary and of 2 000 of its parts: run in fresh interpreters to tell
# that nothing depends on the process (hash randomization, set order).
DIGEST_SCRIPT = """
import hashlib, importlib.util, json, random, sys
spec = importlib.util.spec_from_file_location("profiles_by_path", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
assert "django" not in sys.modules
words = module.vocabulary(sys.argv[2])
draw, rng = module.part_draw(sys.argv[2]), random.Random(11)
parts = [draw(rng) for _ in range(2000)]
text = json.dumps([words.marks, words.models, words.part_names, words.colors, words.max_price, parts])
print(hashlib.sha256(text.encode()).hexdigest())
"""


def _task_digest(seed: int | str) -> str:
    # The old generator's model ids were 1..5 and mark ids 11..15 in that pin; only the index matters here.
    draw, rng = part_draw("task"), random.Random(seed)
    lines = []
    for _ in range(3000):
        part = draw(rng)
        data = json.dumps(part.json_data, sort_keys=True, ensure_ascii=False)
        lines.append(f"{part.name}|{part.model + 11}|{part.model + 1}|{part.price}|{data}|{part.is_visible}")
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


@pytest.mark.parametrize("seed", list(TASK_DRAWS_BEFORE_PROFILES))
def test_the_task_profile_draws_the_parts_it_always_drew(seed: int | str) -> None:
    assert _task_digest(seed) == TASK_DRAWS_BEFORE_PROFILES[seed]


def test_the_task_vocabulary_is_the_one_of_the_task() -> None:
    words = vocabulary("task")
    assert words.marks == tuple((mark, country) for mark, country, _ in CATALOG)
    assert [(name, words.marks[mark][0]) for name, mark in words.models] == [(m, mark) for mark, _, m in CATALOG]
    assert (words.part_names, words.colors, words.max_price) == (PART_NAMES, COLORS, MAX_PRICE)
    assert len(words.part_names) * len(words.models) * (len(words.colors) + 1) * 3 == 2_025  # groups


def test_the_realistic_vocabulary_is_big_distinct_and_uneven() -> None:
    words = vocabulary("realistic")
    mark_names = [name for name, _ in words.marks]
    assert len(mark_names) >= 50
    assert len(set(mark_names)) == len(mark_names)
    assert all(country for _, country in words.marks)
    assert len(words.models) >= 2_000
    assert len({name for name, _ in words.models}) == len(words.models)
    assert all(0 <= mark < len(words.marks) for _, mark in words.models)
    assert all(0 < len(name) <= 100 for name in [*mark_names, *(name for name, _ in words.models)])
    per_mark = collections.Counter(mark for _, mark in words.models)
    assert set(per_mark) == set(range(len(words.marks)))  # every mark has a model
    assert max(per_mark.values()) >= 30 * min(per_mark.values())
    assert len(words.part_names) >= 5_000
    assert len(set(words.part_names)) == len(words.part_names)
    assert all(0 < len(name) <= 200 and name == name.strip() and "  " not in name for name in words.part_names)
    assert len(set(words.colors)) == len(words.colors) > len(COLORS)
    assert 0 < words.max_price <= 2**31 - 1


def test_a_mark_of_both_profiles_has_one_country() -> None:
    task = dict(vocabulary("task").marks)
    realistic = dict(vocabulary("realistic").marks)
    shared = task.keys() & realistic.keys()
    assert shared == set(task)
    assert {name: realistic[name] for name in shared} == task
    assert dict(REAL_MARKS).items() <= realistic.items()


def test_an_unknown_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="must be one of task, realistic"):
        vocabulary("huge")
    assert PROFILES == ("task", "realistic")


@pytest.mark.parametrize("profile", PROFILES)
def test_a_profile_is_the_same_in_every_process_and_loads_by_path_without_django(profile: str) -> None:
    digests = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run(
            [sys.executable, "-c", DIGEST_SCRIPT, str(PROFILES_FILE), profile],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        digests.add(out.stdout.strip())
    assert len(digests) == 1


def test_realistic_parts_are_skewed_like_a_real_catalog() -> None:
    words = vocabulary("realistic")
    draw, rng = part_draw("realistic"), random.Random(3)
    parts = [draw(rng) for _ in range(50_000)]

    names = collections.Counter(part.name for part in parts)
    top_names = sum(count for _, count in names.most_common(len(words.part_names) // 100))
    assert top_names > 0.3 * len(parts)  # the top 1 % of the names
    marks = collections.Counter(words.models[part.model][1] for part in parts)
    assert marks.most_common(1)[0][1] > 0.15 * len(parts)
    assert len(marks) == len(words.marks)
    models = collections.Counter(part.model for part in parts)
    assert models.most_common(1)[0][1] > 50 * statistics.median(models.values())
    colors = collections.Counter(part.json_data["color"] for part in parts if "color" in part.json_data)
    assert colors.most_common(1)[0][1] > 5 * colors.most_common()[len(colors) // 2][1]

    prices = sorted(part.price for part in parts)
    assert all(isinstance(price, int) for price in prices)
    assert 0 <= prices[0] <= prices[-1] <= words.max_price
    median, p99 = prices[len(prices) // 2], prices[len(prices) * 99 // 100]
    assert 1_000 < median < 5_000
    assert p99 > 10 * median  # the long tail
    assert statistics.mean(prices) > 1.5 * median
    # Prices of any value: about one in ten ends in 0, not every one.
    assert 0.05 < sum(price % 10 == 0 for price in prices) / len(prices) < 0.15

    shares = {
        key: sum(key in part.json_data for part in parts) / len(parts) for key in ("color", "is_new_part", "count")
    }
    assert 0.5 < shares["color"] < 0.7 and 0.7 < shares["is_new_part"] < 0.9 and 0.6 < shares["count"] < 0.8
    new = [part.json_data["is_new_part"] for part in parts if "is_new_part" in part.json_data]
    assert 0.6 < sum(new) / len(new) < 0.8
    counts = [part.json_data["count"] for part in parts if "count" in part.json_data]
    assert all(isinstance(count, int) and count >= 0 for count in counts)
    assert 0.9 < sum(part.is_visible for part in parts) / len(parts) < 1


def test_weighted_index_draws_in_proportion() -> None:
    index, rng = WeightedIndex([1, 0.5, 2.5]), random.Random(1)
    drawn = collections.Counter(index.draw(rng) for _ in range(40_000))
    assert set(drawn) == {0, 1, 2}
    assert drawn[0] / 40_000 == pytest.approx(0.25, abs=0.01)
    assert drawn[2] / 40_000 == pytest.approx(0.625, abs=0.01)
    with pytest.raises(ValueError, match="positive"):
        WeightedIndex([1, 0])


def test_zipf_split_gives_every_part_one_and_sums_exactly() -> None:
    shares = zipf_split(2_000, parts=64)
    assert sum(shares) == 2_000
    assert min(shares) >= 1
    assert shares == sorted(shares, reverse=True)
    assert zipf_split(3, parts=3) == [1, 1, 1]
    with pytest.raises(ValueError, match="at least 1"):
        zipf_split(2, parts=3)

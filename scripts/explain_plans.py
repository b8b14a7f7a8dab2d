"""EXPLAIN ANALYZE every search shape, as each service sends it, on the database in DATABASE_URL.

Usage (from the repository root, on a catalog seeded with seed_parts; the project installed in .venv):
    DATABASE_URL=postgres://... .venv/bin/python -m scripts.explain_plans > plans.txt
Both services' SQL is captured from their real search (Django's selector under an execute wrapper,
FastAPI's part_search on make bench's recording connection, scripts/bench/recorder.py), so each shape shows
exactly the statements that service runs for it, FastAPI's with the custom-plan setting its pool uses.

The plans are only worth reading if the server plans as the benchmarked one does: the settings that shape a
plan are read from the server (SHOW) and printed above the plans, and the ones the stack's PostgreSQL is
started with (the ``-c name=value`` options of scripts/images/postgres-entrypoint.sh, such as
max_parallel_workers_per_gather=0) must hold, or nothing is captured (``--any-settings`` captures anyway
and says so in the output).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shlex
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import asyncpg
import django
import orjson

django.setup()

from django.db import connection  # noqa: E402

from catalog.selectors import part_search  # noqa: E402
from fastapi_search.search import part_search as fastapi_part_search  # noqa: E402
from scripts.bench.recorder import RecordingConnection  # noqa: E402
from search_contract import PartFilters, parse_search_request  # noqa: E402
from search_contract.filters import MAX_PAGE  # noqa: E402

# What the FastAPI service's pool sets on each connection (fastapi_search/db.py): every execution planned
# with its values.
FASTAPI_SESSION = {"plan_cache_mode": "force_custom_plan"}
ENTRYPOINT = Path(__file__).resolve().parent / "images" / "postgres-entrypoint.sh"
STACK_FILE = Path(__file__).resolve().parent.parent / "stack.yml"
# Settings the planner does not read (it reads effective_cache_size): a server that differs in them makes the
# same plans, so the plans are captured and the difference noted.
CACHE_ONLY = frozenset({"shared_buffers"})
# Besides the entrypoint's own: the settings that size or shape a plan, printed with every capture.
PLAN_SETTINGS = (
    "server_version",
    "max_parallel_workers_per_gather",
    "max_parallel_workers",
    "jit",
    "shared_buffers",
    "work_mem",
    "effective_cache_size",
    "random_page_cost",
    "plan_cache_mode",
)

CASES: dict[str, PartFilters] = {
    "shape 1: part name + mark + colour": PartFilters(mark_name="Honda", part_name="бамп", color="черный"),
    "shape 2: country + is_new_part": PartFilters(producer_country_name="Япония", is_new_part=True),
    "name substring alone": PartFilters(part_name="фара"),
    "rare name substring": PartFilters(part_name="belt"),
    "no filter, deepest page": PartFilters(page=MAX_PAGE),
    "mark + name + price range": PartFilters(mark_name="BMW", part_name="фара", price_gte=5_000, price_lte=15_000),
    "colour + price range": PartFilters(color="синий", price_gte=5_000),
}


def _print_plan(title: str, lines: list[str]) -> None:
    print(f"### {title}\n")
    print("```")
    print("\n".join(lines))
    print("```\n")


def django_plans(name: str, filters: PartFilters) -> None:
    # Each statement with its parameters, as sent (catalog/statements.py runs compiled SQL with bound values).
    statements: list[tuple[str, Any]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        result = execute(sql, params, many, context)
        # Only what ran: a statement compiled for the first time is caught unrun, its values not bound yet.
        statements.append((sql, params))
        return result

    with connection.execute_wrapper(record):
        part_search(filters=filters)
    for sql, params in statements:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            _print_plan(f"Django, {name}, {_step(sql)}", [row[0] for row in cursor.fetchall()])


def _step(sql: str) -> str:
    """Which step of the search (service_common/totals.py) a statement a service ran is."""
    if "part_totals" in sql:
        return "groups"
    if "part_price_bands" in sql or "part_colour_bands" in sql:
        # FastAPI's one statement also reads the range's two partial bands; Django reads them apart.
        if "UNION ALL" in sql:
            return "price totals"
        # part_colour_bands is also the groups step of a search without a mark, model or name filter.
        return "price bands" if "band" in sql.replace("_bands", "") else "groups"
    if "LIMIT" in sql:
        return "page"
    return "price edge" if "BETWEEN" in sql else "totals"


async def fastapi_plans(name: str, filters: PartFilters) -> None:
    conn = await asyncpg.connect(os.environ["DATABASE_URL"], server_settings=FASTAPI_SESSION)
    try:
        await conn.set_type_codec("jsonb", schema="pg_catalog", encoder=lambda v: orjson.dumps(v).decode(), decoder=str)
        recording = RecordingConnection(conn)
        await fastapi_part_search(recording, filters=filters)
        for sql, arguments in recording.statements:
            rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", *arguments)
            _print_plan(f"FastAPI, {name}, {_step(sql)}", [row[0] for row in rows])
    finally:
        await conn.close()


def stack_settings(entrypoint: Path = ENTRYPOINT, stack: Path = STACK_FILE) -> dict[str, str]:
    """The ``-c name=value`` options the stack's PostgreSQL starts with (its entrypoint's exec line), minus the
    ones that only say where it listens."""
    text = entrypoint.read_text(encoding="utf-8").replace("\\\n", " ")
    exec_line = next((line for line in text.splitlines() if line.strip().startswith("exec postgres")), "")
    words = shlex.split(exec_line)
    options = [words[i + 1] for i, word in enumerate(words[:-1]) if word == "-c"]
    settings = dict(option.split("=", 1) for option in options if "=" in option)
    return {
        name: _stack_value(value, stack)
        for name, value in settings.items()
        if not re.match(r"listen_|unix_socket", name)
    }


def _stack_value(value: str, stack: Path) -> str:
    """A value the entrypoint takes from its environment (``${POSTGRES_X:-default}``) as stack.yml sets it
    (``POSTGRES_X: ${DB_X:-value}``), its own default when stack.yml does not."""
    expansion = re.fullmatch(r"\$\{(\w+):-([^}]*)\}", value)
    if expansion is None:
        return value
    variable, default = expansion.groups()
    found = re.search(rf"^\s+{variable}: (?:\$\{{\w+:-([^}}]*)\}}|(\S+))$", stack.read_text(encoding="utf-8"), re.M)
    return default if found is None else found.group(1) or found.group(2)


def server_settings(names: list[str]) -> dict[str, str]:
    """SHOW of each name on the server the plans run on (Django's connection: the apps' role, their database)."""
    values = {}
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute("SELECT current_setting(%s)", [name])
            (values[name],) = cursor.fetchone() or ("?",)
    return values


def settings_differences(wanted: dict[str, str], found: dict[str, str]) -> list[str]:
    """Where the server differs from the stack's settings (on/off and true/false taken as the same)."""
    same = {"true": "on", "false": "off", "1": "on", "0": "off"}

    def norm(name: str, value: str) -> str:
        value = value.strip().strip("'").lower()
        return same.get(value, value) if name == "jit" else value

    return [
        f"{name}: the stack runs {value!r}, this server {found.get(name)!r}"
        for name, value in wanted.items()
        if norm(name, value) != norm(name, found.get(name, ""))
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--any-settings", action="store_true", help="capture even when the server plans unlike the stack's"
    )
    parser.add_argument(
        "--entrypoint", type=Path, default=ENTRYPOINT, help="the stack's PostgreSQL entrypoint (its -c options)"
    )
    parser.add_argument(
        "--body",
        action="append",
        default=[],
        help="a search body (JSON, as clients send it) to explain instead of the built-in cases; repeatable",
    )
    args = parser.parse_args(argv)
    cases = {body: parse_search_request(body.encode()) for body in args.body} if args.body else CASES
    wanted = stack_settings(args.entrypoint)
    found = server_settings(list(dict.fromkeys([*wanted, *PLAN_SETTINGS])))
    differences = settings_differences({k: v for k, v in wanted.items() if k not in CACHE_ONLY}, found)
    cache_differences = settings_differences({k: v for k, v in wanted.items() if k in CACHE_ONLY}, found)
    if differences and not args.any_settings:
        print(
            "not capturing: this server plans unlike the benchmarked stack:", *differences, sep="\n  ", file=sys.stderr
        )
        return 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(*) FILTER (WHERE is_visible) FROM part")
        total, visible = cursor.fetchone() or (0, 0)
        cursor.execute("SELECT version()")
        (version,) = cursor.fetchone() or ("",)
    print(f"# Search plans on {total} parts ({visible} visible)\n\n{version}\n")
    print("Server settings as these plans ran (SHOW on this server; FastAPI's session sets plan_cache_mode = ")
    print(f"{FASTAPI_SESSION['plan_cache_mode']}; the stack's PostgreSQL starts with {_pairs(wanted)}):\n")
    print("| setting | value |\n| --- | --- |")
    print("\n".join(f"| {name} | {value} |" for name, value in found.items()) + "\n")
    if cache_differences:
        print("Cached unlike the stack (the same plans; their shared hit / read split differs):\n")
        print("\n".join(f"- {difference}" for difference in cache_differences) + "\n")
    if differences:
        print("**Not as benchmarked** (captured with --any-settings):\n")
        print("\n".join(f"- {difference}" for difference in differences) + "\n")
    for name, filters in cases.items():
        print(f"## {name}\n\n`{filters}`\n")
        django_plans(name, filters)
        asyncio.run(fastapi_plans(name, filters))
    return 0


def _pairs(settings: dict[str, str]) -> str:
    return ", ".join(f"{name}={value}" for name, value in settings.items()) or "no plan settings"


if __name__ == "__main__":
    sys.exit(main())

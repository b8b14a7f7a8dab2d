"""The database path of FastAPI's search: its own part_search on one connection of its own pool, the bodies
drawn by weight, one after the other.

Run inside a FastAPI task: ``python search_path.py VARIANT SEED SEARCHES``, with the bodies file (scripts/bench
workload) at /tmp/ab/bodies.tsv. VARIANT names a folder under /tmp/ab put first on sys.path, so that another
fastapi_search can be measured on the same task; a folder without one runs the task's own code.
"""

import asyncio
import random
import statistics
import sys
import time

sys.path.insert(0, f"/tmp/ab/{sys.argv[1]}")

from fastapi_search.main import app, lifespan
from fastapi_search.search import part_search
from search_contract import parse_search_request

WARM_UP = 300


async def main(variant: str, seed: int, searches: int) -> None:
    with open("/tmp/ab/bodies.tsv", encoding="utf-8") as handle:
        lines = [line.rstrip("\n").split("\t") for line in handle if line.strip()]
    weights = [int(line[0]) for line in lines]
    filters = [parse_search_request(line[2].encode()) for line in lines]
    draws = random.Random(seed).choices(range(len(lines)), weights=weights, k=searches + WARM_UP)  # noqa: S311 (a reproducible draw)
    times = []
    async with lifespan(app) as state:
        # The pool the lifespan hands out (fastapi_search/worker_state.py); older code set app.state.pool.
        pool = state["pool"] if state else app.state.pool
        async with pool.acquire() as connection:
            for count, index in enumerate(draws):
                started = time.perf_counter()
                await part_search(connection, filters=filters[index])
                if count >= WARM_UP:
                    times.append((time.perf_counter() - started) * 1000)
    times.sort()
    print(  # noqa: T201 (a measurement tool)
        f"{variant} mean {statistics.mean(times):.3f} ms p50 {times[len(times) // 2]:.3f}"
        f" p99 {times[int(len(times) * 0.99)]:.3f} max {times[-1]:.1f}"
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))

"""Every body of a workload file once, one after the other, on one connection of the FastAPI service's own pool,
under a plan_cache_mode: the total time, the statement timeouts and the slowest bodies.

Run inside a FastAPI task: ``python sweep.py MODE BODIES_TSV`` (MODE: auto or force_custom_plan). Under auto
PostgreSQL keeps a generic plan of a prepared statement once five custom plans cost it no less, so a body
meets the generic plan of its shape once earlier bodies of that shape ran five times on the connection.
"""

import asyncio
import sys
import time

import asyncpg

from fastapi_search.main import app, lifespan
from fastapi_search.search import part_search
from search_contract import parse_search_request

TIMED_OUT = float("inf")


async def main(mode: str, bodies_file: str) -> None:
    with open(bodies_file, encoding="utf-8") as handle:
        bodies = [line.rstrip("\n").split("\t")[-1] for line in handle if line.strip()]
    results = []
    started = time.perf_counter()
    async with lifespan(app) as state:
        # The pool the lifespan hands out (fastapi_search/worker_state.py); older code set app.state.pool.
        pool = state["pool"] if state else app.state.pool
        async with pool.acquire() as connection:
            await connection.execute(f"SET plan_cache_mode = {mode}")  # MODE is the operator's, one of two words
            for body in bodies:
                began = time.perf_counter()
                try:
                    await part_search(connection, filters=parse_search_request(body.encode()))
                    results.append(((time.perf_counter() - began) * 1000, body))
                except asyncpg.QueryCanceledError:
                    results.append((TIMED_OUT, body))
    results.sort(reverse=True)
    timeouts = sum(1 for elapsed, _body in results if elapsed == TIMED_OUT)
    print(f"{mode}: {time.perf_counter() - started:.1f} s, {timeouts} statement timeouts")  # noqa: T201
    for elapsed, body in results[:8]:
        print(f"  {'timeout' if elapsed == TIMED_OUT else f'{elapsed:.0f} ms'} {body}")  # noqa: T201


if __name__ == "__main__":
    if sys.argv[1] not in ("auto", "force_custom_plan", "force_generic_plan"):
        raise SystemExit("MODE: auto, force_custom_plan or force_generic_plan")
    asyncio.run(main(sys.argv[1], sys.argv[2]))

"""Where a search's time goes at the edge: Nginx's access log split into the wait before the app (the admission
queue, nginx/lua/admission.lua) and the app's own answer time.

    docker service logs --raw --since 2026-12-06T19:00:00 partscat_nginx 2>/dev/null \\
        | python -m scripts.bench.edge_times /fastapi/search/part/

Reads the log format ``upstream_log`` (nginx/nginx.conf): ``rt`` is the request's time at the edge, ``urt`` the
upstream's (the app's) answer time; their difference is the time before the request reached an app (the
queue for a slot, and reading the body). Prints the mean and percentiles of each for the requests whose
request line names PATH (all of them without one).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Sequence

_TIMES = re.compile(r'"(?P<request>[^"]*)" (?P<status>\d{3}) .* rt=(?P<rt>[\d.]+) .*urt=(?P<urt>[\d.]+)(?: |$)')


def edge_times(lines: Iterable[str], path: str = "") -> dict[str, list[float]]:
    """Milliseconds per request: ``edge`` (rt), ``app`` (urt) and ``before_app`` (rt - urt)."""
    times: dict[str, list[float]] = {"edge": [], "app": [], "before_app": []}
    for line in lines:
        found = _TIMES.search(line)
        if found is None or path not in found.group("request"):
            continue
        edge, app = float(found.group("rt")) * 1000, float(found.group("urt")) * 1000
        times["edge"].append(edge)
        times["app"].append(app)
        times["before_app"].append(edge - app)
    return times


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * share), len(ordered) - 1)]


def main(argv: Sequence[str]) -> int:
    times = edge_times(sys.stdin, argv[0] if argv else "")
    if not times["edge"]:
        print("no request with an upstream time in the log", file=sys.stderr)
        return 1
    print(f"{len(times['edge'])} requests, ms: mean p50 p90 p99 max")
    for name, values in times.items():
        figures = [sum(values) / len(values), *(percentile(values, share) for share in (0.5, 0.9, 0.99)), max(values)]
        print(f"{name:>10}: " + " ".join(f"{figure:.1f}" for figure in figures))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

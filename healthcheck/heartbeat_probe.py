"""Exit 0 when FILE was touched within the last MAX_AGE seconds: the health check of a process without HTTP
that proves it is alive by touching a file from its work loop (Celery beat and worker: app/jobs/heartbeat.py).

Usage: python heartbeat_probe.py FILE [--max-age SECONDS]   (default 60)
Standard library only. A missing file fails too: the process never completed a loop.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

DEFAULT_MAX_AGE_SECONDS = 60.0


def heartbeat_age(path: str, *, now: float | None = None) -> float | None:
    """Seconds since the file was last touched, or None when there is no file."""
    try:
        modified = os.stat(path).st_mtime
    except OSError:
        return None
    return (time.time() if now is None else now) - modified


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("file")
    parser.add_argument("--max-age", type=float, default=DEFAULT_MAX_AGE_SECONDS, help="seconds (default 60)")
    args = parser.parse_args(argv)
    age = heartbeat_age(args.file)
    if age is None:
        print(f"no heartbeat: {args.file} does not exist")
        return 1
    if age > args.max_age:
        print(f"stale heartbeat: {args.file} last touched {age:.0f}s ago (limit {args.max_age:.0f}s)")
        return 1
    print(f"alive: {args.file} touched {age:.1f}s ago")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The stack's control plane (scripts/control_plane/): `python3 scripts/stackctl.py [--dry-run] [--json FILE]
COMMAND [ARGS...]`. Standard library only: an operator's machine needs Python 3.11 and docker."""

from __future__ import annotations

import sys
from pathlib import Path

# The package imports as scripts.control_plane, like scripts.bench: the checkout's root on the path,
# whatever the current directory.
ROOT = str(Path(__file__).resolve().parents[1])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from scripts.control_plane.cli import main  # noqa: E402 (after the path is set)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

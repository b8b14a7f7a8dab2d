"""`python3 -m scripts.control_plane COMMAND ...` from the checkout (scripts/stackctl.py runs from anywhere)."""

from __future__ import annotations

import sys

from scripts.control_plane.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

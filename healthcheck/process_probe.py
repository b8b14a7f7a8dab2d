"""Exit 0 when a process whose command line contains every given word is running (for services without HTTP).

Usage: python process_probe.py WORD [WORD...]   e.g. process_probe.py celery beat
Reads /proc only, so it needs neither procps nor any third-party package.
"""

from __future__ import annotations

import os
import sys


def process_running(*, words: list[str]) -> bool:
    own_pid = str(os.getpid())
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or pid == own_pid:
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline_file:
                argv = cmdline_file.read().split(b"\0")
        except OSError:
            continue
        command_line = " ".join(part.decode(errors="replace") for part in argv)
        if "process_probe" not in command_line and all(word in command_line for word in words):
            return True
    return False


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    if not words:
        print("usage: process_probe.py WORD [WORD...]", file=sys.stderr)
        return 2
    running = process_running(words=words)
    print(("running: " if running else "not running: ") + " ".join(words))
    return 0 if running else 1


if __name__ == "__main__":
    sys.exit(main())

"""nginx/watcher_nginx.py: which processes count as Nginx's accepting workers (a reload waits until none of the
old ones does). The reload, apply-config and the health check against a real Nginx: test_edge.py and
test_socket_handover.py."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from types import ModuleType


def _titled_child(title: str) -> subprocess.Popen[bytes]:
    """A child of this process whose command line reads like an Nginx worker's title."""
    child = subprocess.Popen(["bash", "-c", f'exec -a "{title}" sleep 30'])
    deadline = time.monotonic() + 5
    while title.encode() not in Path(f"/proc/{child.pid}/cmdline").read_bytes():
        assert time.monotonic() < deadline, "the child never took its title"
        time.sleep(0.01)
    return child


def test_accepting_workers_are_the_masters_children_not_shutting_down(watcher_nginx: ModuleType) -> None:
    children = [
        _titled_child("nginx: worker process"),
        _titled_child("nginx: worker process is shutting down"),
        _titled_child("nginx: cache manager process"),
    ]
    try:
        accepting = watcher_nginx.nginx_accepting_workers(os.getpid())
        assert accepting == {children[0].pid}
        # Another master's workers are not ours.
        assert children[0].pid not in watcher_nginx.nginx_accepting_workers(children[1].pid)
    finally:
        for child in children:
            child.kill()
            child.wait()

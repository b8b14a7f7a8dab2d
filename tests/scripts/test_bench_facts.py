"""scripts/bench/facts.py: what env.md records of the live stack, from `docker top` output as the stack gives it."""

from __future__ import annotations

from scripts.bench.facts import worker_count


def test_worker_processes_are_counted_from_a_tasks_process_tree() -> None:
    # `docker top` of a django task and of the nginx task, as the stack runs them.
    command = "gunicorn --config python:config.gunicorn config.wsgi:application"
    django = [
        (23948, 23920, f"/bin/sh /usr/local/bin/app-entrypoint {command}"),
        (23998, 23948, f"/opt/venv/bin/python3 /opt/venv/bin/{command}"),
        (23999, 23998, f"/opt/venv/bin/python3 /opt/venv/bin/{command}"),
        (24000, 23998, f"/opt/venv/bin/python3 /opt/venv/bin/{command}"),
    ]
    nginx = [
        (18821, 18800, "python3 /opt/nginx/upstream_watcher.py"),
        (18897, 18821, "nginx: master process nginx -e stderr -c /tmp/nginx/nginx.conf -g daemon off;"),
        (18898, 18897, "nginx: worker process"),
        (18899, 18897, "nginx: worker process"),
    ]
    assert (worker_count(django), worker_count(nginx)) == (2, 2)

"""What a run's env.md records besides its figures: the host and its tools, the commit, and the stack read from
the live services (image, replicas, worker processes, the settings that size each one, PostgreSQL's plan
settings)."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scripts.bench.commands import ROOT, checked, run_command
from scripts.bench.stack import Stack

# The server settings that shape every plan, recorded in env.md (scripts/explain_plans.py records the same).
PLAN_SETTINGS = (
    "max_connections",
    "shared_buffers",
    "work_mem",
    "effective_cache_size",
    "max_parallel_workers_per_gather",
    "jit",
    "random_page_cost",
)


def _service_spec(service: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(checked(["docker", "service", "inspect", service, "--format", "{{json .Spec}}"]))
    return data


def _env_of(spec: dict[str, Any]) -> dict[str, str]:
    pairs = spec.get("TaskTemplate", {}).get("ContainerSpec", {}).get("Env") or []
    return dict(pair.split("=", 1) for pair in pairs if "=" in pair)


def worker_count(processes: Sequence[tuple[int, int, str]]) -> int:
    """Server workers among a task's (pid, parent pid, command line): Nginx's, or gunicorn's.

    gunicorn's workers are the leaves of the tree of processes that name gunicorn: the entrypoint shell that
    starts it names it too, and the master has the workers as children.
    """
    nginx = sum(1 for _pid, _ppid, args in processes if args.startswith("nginx: worker process"))
    if nginx:
        return nginx
    gunicorn = {pid: ppid for pid, ppid, args in processes if "gunicorn" in args}
    parents = set(gunicorn.values())
    return sum(1 for pid in gunicorn if pid not in parents)


def workers_of(container: str) -> int:
    out = checked(["docker", "top", container, "-eo", "pid,ppid,args"])
    rows = []
    for line in out.splitlines()[1:]:
        pid, ppid, args = line.split(None, 2)
        rows.append((int(pid), int(ppid), args))
    return worker_count(rows)


def stack_facts(stack: Stack) -> list[dict[str, str]]:
    """Per service: image, replicas asked and running, worker processes per task, the settings that size it."""
    facts = []
    for name in (stack.nginx_service, stack.django_service, stack.fastapi_service, stack.postgres_service):
        spec = _service_spec(name)
        env = _env_of(spec)
        running = checked(["docker", "service", "ps", name, "--filter", "desired-state=running", "-q"]).split()
        containers = checked(["docker", "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={name}"]).split()
        workers = [workers_of(container) for container in containers] if name != stack.postgres_service else []
        settings = {
            key: env[key]
            for key in (
                "WEB_CONCURRENCY",
                "DB_CONCURRENCY",
                "DB_STATEMENT_TIMEOUT_MS",
                "DB_QUEUE_WAIT_MS",
                "EDGE_PEER_CONCURRENCY",
                "EDGE_QUEUE_SECONDS",
            )
            if key in env
        }
        facts.append(
            {
                "service": name,
                "image": spec.get("TaskTemplate", {}).get("ContainerSpec", {}).get("Image", "?").split("@")[0],
                "replicas": str(spec.get("Mode", {}).get("Replicated", {}).get("Replicas", "?")),
                "running": str(len(running)),
                "workers": " + ".join(str(count) for count in workers) if workers else "-",
                "settings": ", ".join(f"{key}={value}" for key, value in settings.items()) or "-",
            }
        )
    return facts


def postgres_facts(stack: Stack) -> str:
    """PostgreSQL's version and PLAN_SETTINGS, as the running postgres task has them."""
    settings = " || ', ' || ".join(f"'{name}=' || current_setting('{name}')" for name in PLAN_SETTINGS)
    return stack.psql(f"SELECT split_part(version(), ' on ', 1) || ', ' || {settings}")


def pgbench_version(stack: Stack) -> str:
    return checked(["docker", "exec", stack.container(stack.postgres_service), "pgbench", "--version"]).strip()


def host_facts() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    meminfo = Path("/proc/meminfo").read_text()
    memory = re.search(r"^MemTotal:\s*(\d+) kB", meminfo, re.MULTILINE)

    def version(command: list[str]) -> str:
        try:
            _code, out, err = run_command(command, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return "?"
        text = (out + err).strip().splitlines()
        return text[0] if text else "?"

    return {
        "cpu": model.group(1).strip() if model else platform.processor() or "?",
        "cores": str(os.cpu_count()),
        "memory": f"{int(memory.group(1)) / 1024 / 1024:.1f} GiB" if memory else "?",
        "kernel": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "docker": version(["docker", "version", "--format", "{{.Server.Version}}"]),
        "wrk": version(["wrk", "-v"]).split(" [")[0],
        "python": platform.python_version(),
    }


def uncommitted_changes() -> list[str]:
    """Paths that differ from HEAD, results and the venv/cache links of a worktree aside."""
    out = checked(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", ".", ":!bench-results", ":!.venv", ":!.cache"]
    )
    return [line[3:] for line in out.splitlines() if line.strip()]


def git_facts() -> dict[str, str]:
    def git(*args: str) -> str:
        return checked(["git", "-C", str(ROOT), *args]).strip()

    changed = uncommitted_changes()
    return {
        "commit": git("rev-parse", "HEAD"),
        "short": git("rev-parse", "--short=7", "HEAD"),
        "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
        "subject": git("log", "-1", "--format=%s"),
        "dirty": ", ".join(changed[:12]) + (" ..." if len(changed) > 12 else ""),
    }

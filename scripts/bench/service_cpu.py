"""CPU time of each Swarm service's containers on this machine, from their cgroups: where a point's CPU went.

"CPU % per core" says the machine was busy; this says who kept it busy. Read before and after a point and
divided by its answers, it gives the CPU milliseconds each service spent per answer (PostgreSQL, the app,
Nginx), the figure that says which one a search's throughput waits on. wrk itself runs outside the stack and
is not counted. A container's cgroup is found where Docker puts it with either cgroup version; a machine where
none is readable gives no figures, and the summary then leaves the table out.
"""

from __future__ import annotations

from pathlib import Path

from scripts.bench.commands import run_command

CGROUP_ROOT = Path("/sys/fs/cgroup")
# Where Docker puts a container's cgroup (cgroup v1 with the cgroupfs driver; v2 with systemd; v2 with cgroupfs),
# and which file there holds its CPU time.
_PLACES = (
    ("cpuacct/docker/{id}", "cpuacct.usage"),
    ("system.slice/docker-{id}.scope", "cpu.stat"),
    ("docker/{id}", "cpu.stat"),
)


def cgroup_cpu_seconds(file_name: str, text: str) -> float | None:
    """The CPU seconds in a cgroup file: ``cpuacct.usage`` (nanoseconds) or ``cpu.stat``'s ``usage_usec``."""
    if file_name == "cpuacct.usage":
        return int(text.strip()) / 1e9 if text.strip().isdigit() else None
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "usage_usec" and value.strip().isdigit():
            return int(value) / 1e6
    return None


def container_cpu_seconds(container_id: str, root: Path = CGROUP_ROOT) -> float | None:
    """The CPU seconds a container has used so far; None when its cgroup cannot be read here."""
    for place, file_name in _PLACES:
        path = root / place.format(id=container_id) / file_name
        try:
            text = path.read_text()
        except OSError:
            continue
        return cgroup_cpu_seconds(file_name, text)
    return None


def service_name(label: str) -> str:
    """A Swarm service's name without its stack's prefix (``partscat_postgres`` -> ``postgres``)."""
    return label.split("_", 1)[1] if "_" in label else label


def service_cpu_seconds(root: Path = CGROUP_ROOT) -> dict[str, float]:
    """The CPU seconds used so far by each Swarm service's running containers here ({} when none is readable)."""
    code, out, _err = run_command(
        ["docker", "ps", "--no-trunc", "--format", '{{.ID}} {{.Label "com.docker.swarm.service.name"}}'], timeout=60
    )
    totals: dict[str, float] = {}
    if code != 0:
        return totals
    for line in out.splitlines():
        container, _, label = line.strip().partition(" ")
        if not label:
            continue
        used = container_cpu_seconds(container, root)
        if used is not None:
            name = service_name(label)
            totals[name] = totals.get(name, 0.0) + used
    return totals


def per_answer_ms(before: dict[str, float], after: dict[str, float], answers: int) -> dict[str, float]:
    """Each service's CPU milliseconds per answer between two readings (services in both; {} without answers)."""
    if answers <= 0:
        return {}
    return {
        name: round((after[name] - before[name]) * 1000 / answers, 4)
        for name in sorted(after)
        if name in before and after[name] >= before[name]
    }

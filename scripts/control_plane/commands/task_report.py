"""The task lines a failed wait shows the operator: name, image, state and error of each task, as the bash
printed them (`--format '{{.Name}} {{.Image}} {{.CurrentState}} {{.Error}}' | head`)."""

from __future__ import annotations

from collections.abc import Sequence

from scripts.control_plane.context import Context
from scripts.control_plane.records import Task


def task_lines(tasks: Sequence[Task], *, limit: int) -> str:
    return "\n".join(f"{task.name} {task.image} {task.state_text} {task.error}".rstrip() for task in tasks[:limit])


def service_task_report(ctx: Context, service: str) -> None:
    ctx.runbook.relay(task_lines(ctx.docker.service_tasks([service]), limit=10))


def stack_task_report(ctx: Context) -> None:
    ctx.runbook.relay(task_lines(ctx.docker.stack_tasks(ctx.stack), limit=30))

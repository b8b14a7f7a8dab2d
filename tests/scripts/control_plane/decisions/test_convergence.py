"""decisions/convergence.py: whether a deploy converged (lib.sh wait_stack_converged, stack_unhealthy_services,
stack_stale_services) and which services deploy puts on which image (deploy.sh enforce_images)."""

from __future__ import annotations

from scripts.control_plane.decisions.convergence import (
    SERVICE_IMAGE_VARIABLES,
    crowded_slots,
    image_plan,
    stack_convergence,
    stale_services,
    tasks_of,
    unhealthy_services,
    update_progress,
)
from scripts.control_plane.records import Service, ServiceRow, Task, UpdateStatus

STACK = "partscat"
SINCE = 1_000


def row(name: str, replicas: str = "2/2") -> ServiceRow:
    return ServiceRow(id=name, name=f"{STACK}_{name}", image="img", mode="replicated", replicas=replicas)


def service(name: str, image: str = "img:1", status: UpdateStatus | None = None) -> Service:
    return Service(id=name, name=f"{STACK}_{name}", image=image, replicas=2, update_status=status)


def task(slot: str, image: str = "img:1", desired: str = "running", state: str = "running") -> Task:
    return Task(id=slot, name=f"{STACK}_{slot}", image=image, node="vm", desired_state=desired, state=state)


def test_updates_from_before_this_deploy_are_not_its_business() -> None:
    old = service("django-blue", status=UpdateStatus("rollback_completed", "rolled back", started_at=SINCE - 1))
    unset = service("nginx", status=UpdateStatus("updating", "", started_at=None))
    assert update_progress(STACK, [old, unset], since=SINCE) == ([], [])


def test_updates_since_the_deploy_are_pending_or_failed() -> None:
    services = [
        service("django-blue", status=UpdateStatus("updating", "update in progress", started_at=SINCE)),
        service("nginx", status=UpdateStatus("rollback_completed", "rollback completed", started_at=SINCE + 5)),
        service("fastapi-blue", status=UpdateStatus("paused", "update paused due to failure", started_at=SINCE + 9)),
        service("redis", status=UpdateStatus("completed", "update completed", started_at=SINCE + 3)),
    ]
    pending, failed = update_progress(STACK, services, since=SINCE)
    assert pending == ["django-blue(updating)"]
    assert failed == [
        "partscat_nginx: rollback_completed: rollback completed",
        "partscat_fastapi-blue: paused: update paused due to failure",
    ]


def test_unhealthy_services_are_those_short_of_their_replicas() -> None:
    rows = [row("django-blue", "1/2"), row("django-green", "0/0"), row("edge-socket", "1/1")]
    assert unhealthy_services(STACK, rows) == ["django-blue(1/2)"]


def test_a_task_meant_to_run_on_another_image_makes_its_service_stale() -> None:
    services = [service("django-blue", "img:2"), service("fastapi-blue", "img:2"), service("django-green", "img:1")]
    tasks = [
        task("django-blue.1", "img:2"),
        task("django-blue.2", "img:1"),  # the old one, still meant to run
        task("fastapi-blue.1", "img:2"),
        task("fastapi-blue.2", "img:1", desired="shutdown", state="shutdown"),  # on its way out: not stale
    ]
    assert stale_services(STACK, services, tasks) == ["django-blue(old image)"]


def test_a_registry_digest_is_compared_as_it_is() -> None:
    # --no-trunc shows tasks' full references: a service pinned to a digest is not stale forever.
    pinned = "partscat/django:2@sha256:" + "a" * 64
    assert stale_services(STACK, [service("django-blue", pinned)], [task("django-blue.1", pinned)]) == []


def test_tasks_of_a_service_do_not_include_a_service_whose_name_it_prefixes() -> None:
    tasks = [task("redis.1"), task("redis-cache.1")]
    assert [found.name for found in tasks_of(f"{STACK}_redis", tasks)] == ["partscat_redis.1"]


def test_stack_convergence_lists_updates_then_unhealthy_then_stale() -> None:
    rows = [row("django-blue", "1/2"), row("nginx", "1/1")]
    services = {
        "partscat_django-blue": service("django-blue", status=UpdateStatus("updating", "", started_at=SINCE)),
        "partscat_nginx": service("nginx", "nginx:2"),
    }
    tasks = [task("nginx.1", "nginx:1")]
    state = stack_convergence(stack=STACK, rows=rows, services=services, tasks=tasks, since=SINCE)
    assert state.pending == ("django-blue(updating)", "django-blue(1/2)", "nginx(old image)")
    assert not state.converged


def test_a_converged_stack() -> None:
    rows = [row("django-blue"), row("nginx", "1/1")]
    services = {
        "partscat_django-blue": service("django-blue", status=UpdateStatus("completed", "", started_at=SINCE)),
        "partscat_nginx": service("nginx"),
    }
    state = stack_convergence(stack=STACK, rows=rows, services=services, tasks=[task("nginx.1")], since=SINCE)
    assert state.converged


def test_image_plan_puts_every_service_on_the_image_asked_for() -> None:
    variables = {variable: f"{variable.lower()}:new" for _name, variable in SERVICE_IMAGE_VARIABLES}
    services = {
        f"{STACK}_{name}": service(name, f"{variable.lower()}:new") for name, variable in SERVICE_IMAGE_VARIABLES
    }
    services["partscat_celery-beat"] = service("celery-beat", "django_image:old")
    del services["partscat_django-green"]
    plan = image_plan(STACK, variables, services)
    assert plan.updates == (("partscat_celery-beat", "django_image:new"),)
    assert plan.missing == ("partscat_django-green",)


def test_image_plan_takes_a_pinned_digest_for_the_tag_it_was_resolved_from() -> None:
    variables = {
        variable: f"registry.example:5443/{variable.lower()}:t1" for _name, variable in SERVICE_IMAGE_VARIABLES
    }
    services = {
        f"{STACK}_{name}": service(name, f"registry.example:5443/{variable.lower()}:t1@sha256:{'a' * 64}")
        for name, variable in SERVICE_IMAGE_VARIABLES
    }
    assert image_plan(STACK, variables, services).updates == ()
    # The idle colour keeps what it runs, pinned digest included: nothing to update either.
    variables["DJANGO_GREEN_IMAGE"] = services["partscat_django-green"].image
    assert image_plan(STACK, variables, services).updates == ()
    services["partscat_nginx"] = service("nginx", f"registry.example:5443/nginx_image:t0@sha256:{'b' * 64}")
    assert image_plan(STACK, variables, services).updates == (
        ("partscat_nginx", "registry.example:5443/nginx_image:t1"),
    )


def test_a_slot_with_two_tasks_meant_to_run_is_crowded() -> None:
    tasks = [
        task("fastapi-blue.1"),
        task("fastapi-blue.2"),
        task("fastapi-blue.2", image="img:0"),
        task("fastapi-blue.2", desired="shutdown", state="failed"),
        task("fastapi-blue.3", desired="shutdown"),
        task("fastapi-blue.3"),
        task("django-blue.1"),
        task("django-blue.1"),
    ]
    assert crowded_slots(f"{STACK}_fastapi-blue", tasks) == [f"{STACK}_fastapi-blue.2"]
    assert crowded_slots(f"{STACK}_fastapi-blue", tasks[:2]) == []

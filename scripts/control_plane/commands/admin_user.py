"""admin-user [NAME [EMAIL]] (scripts/admin-user.sh): create an admin account (a Django superuser) inside a
healthy task of the live django colour.

  admin-user                      asks for name, e-mail and password (createsuperuser, on the terminal)
  admin-user NAME [EMAIL]         asks for the password only; NAME already there: changes nothing
  printf '%s' "$PASSWORD" | admin-user NAME [EMAIL]    without a terminal: the password from stdin

The password goes through the terminal or stdin, never argv or the environment, so `ps` and `docker inspect`
never show it. Both ways run the project's createsuperuser, which refuses a password that fails
AUTH_PASSWORD_VALIDATORS, with no bypass.
"""

from __future__ import annotations

from collections.abc import Sequence

from scripts.control_plane.context import Context
from scripts.control_plane.runbook import Failure

USAGE = "usage: admin-user.sh [NAME [EMAIL]]"
# Run inside the task with Django set up: 0 if user $ADMIN_USERNAME exists, else 3.
USER_EXISTS = """
import os, sys
from django.contrib.auth import get_user_model
sys.exit(0 if get_user_model().objects.filter(username=os.environ["ADMIN_USERNAME"]).exists() else 3)
"""
USER_MISSING = 3


def run(ctx: Context, args: Sequence[str]) -> None:
    if len(args) > 2:
        raise Failure(USAGE)
    name = args[0] if args else ""
    email = args[1] if len(args) > 1 else ""
    ctx.require_docker()
    django = ctx.service_name("django")
    containers = ctx.docker.containers(django, healthy=True)
    if not containers:
        raise Failure(f"no healthy {django} task on this node; is the stack up (make up)?")
    container = containers[0]
    env = {"ADMIN_USERNAME": name, "ADMIN_EMAIL": email}
    ctx.verdict.details.update({"username": name, "task": container.id})

    if name:
        found = ctx.docker.exec_read(container, ["python", "manage.py", "shell", "-c", USER_EXISTS], env=env)
        if found.returncode == 0:
            ctx.log(
                f"admin account {name} already exists; nothing changed (change its password in the admin, or: "
                f"docker exec -it {container.id} python manage.py changepassword {name})"
            )
            ctx.verdict.outcome = "unchanged"
            return
        if found.returncode != USER_MISSING:
            ctx.runbook.relay(found.stderr)
            raise Failure(f"could not look up {name} in {django} (exit {found.returncode})")

    if ctx.stdin_is_terminal:
        argv = ["python", "manage.py", "createsuperuser"]
        argv += ["--username", name] if name else []
        argv += ["--email", email] if email else []
        result = ctx.docker.exec_change(container, argv, terminal=True)
        if result.returncode != 0:
            raise Failure(
                f"admin account not created (createsuperuser exit {result.returncode})", exit_code=result.returncode
            )
    else:
        if not name:
            raise Failure(
                "without a terminal, give NAME and the password on stdin: "
                "printf '%s' \"$PASSWORD\" | scripts/admin-user.sh NAME [EMAIL]"
            )
        argv = ["python", "manage.py", "createsuperuser", "--noinput", "--username", name, "--email", email]
        result = ctx.docker.exec_change(container, [*argv, "--password-stdin"], env=env, interactive=True)
        if result.returncode != 0:
            raise Failure(f"admin account {name} not created")
    if ctx.dry_run:
        ctx.log("dry run: no account created")
        ctx.verdict.outcome = "dry_run"
        return
    ctx.log(f"admin account ready: log in at http://127.0.0.1:{ctx.settings.http_port}/admin/")
    ctx.verdict.outcome = "created"

"""stack.yml's secret names follow STACK_NAME, and they are exactly the secrets deploy.sh creates.

deploy creates (and down.sh removes) the names ``stackctl.py secret-names`` prints; stack.yml is rendered
here the way ``docker stack deploy`` interpolates it (``${VAR:-default}`` from the environment).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping

import pytest
import yaml

from scripts.control_plane.decisions.secrets import DATABASE_VARIABLES
from tests.servers import ROOT

# The forms of interpolation the compose file format has: ${VAR}, ${VAR:-default}, ${VAR-default}.
_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?-)(?P<default>[^}]*))?\}")


def compose_interpolate(text: str, environ: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name, op, default = match["name"], match["op"], match["default"] or ""
        current = environ.get(name)
        if op == ":-" and not current:
            return default
        if op == "-" and current is None:
            return default
        return current or ""

    return _VARIABLE.sub(value, text.replace("$$", "\0")).replace("\0", "$")


def stack_yml_secret_names(stack_name: str | None) -> set[str]:
    environ = {} if stack_name is None else {"STACK_NAME": stack_name}
    stack = yaml.safe_load(compose_interpolate((ROOT / "stack.yml").read_text(), environ))
    return {str(secret["name"]) for secret in stack["secrets"].values()}


def deploy_secret_names(stack_name: str | None) -> set[str]:
    """What `stackctl.py secret-names` prints: the secrets deploy creates and down.sh removes."""
    environ = {name: value for name, value in os.environ.items() if name != "STACK_NAME"}
    if stack_name is not None:
        environ["STACK_NAME"] = stack_name
    listed = subprocess.run(
        [sys.executable, "scripts/stackctl.py", "secret-names"],
        cwd=ROOT,
        env=environ,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return set(listed)


@pytest.mark.parametrize("stack_name", [None, "partscat", "catalog_staging"])
def test_stack_yml_names_the_secrets_deploy_sh_creates(stack_name: str | None) -> None:
    expected = deploy_secret_names(stack_name)
    assert stack_yml_secret_names(stack_name) == expected
    assert all(name.startswith(f"{stack_name or 'partscat'}_") for name in expected)
    assert len(expected) == 9


def test_no_stack_object_is_named_with_a_fixed_prefix() -> None:
    # A stack object's name (secrets here) follows STACK_NAME; only labels (partscat.live-colour) and the
    # database roles (partscat_app, inside PostgreSQL) keep the project's own name.
    assert re.findall(r"name: partscat_", (ROOT / "stack.yml").read_text()) == []


def test_compose_interpolation_matches_the_compose_rules() -> None:
    environ = {"SET": "x", "EMPTY": ""}
    assert compose_interpolate("${SET:-d} ${EMPTY:-d} ${UNSET:-d} ${EMPTY-d} ${UNSET-d} $$HOME", environ) == (
        "x d d  d $HOME"
    )


def test_the_typed_stack_deploy_names_the_database_and_roles_deploy_sh_names() -> None:
    """`docker stack deploy -c stack.yml` with only REGISTRY and TAG set uses stack.yml's defaults: they must be
    the names deploy.sh passes (and that its URL secrets hold), or a typed deploy would rename the database."""
    stack = yaml.safe_load(compose_interpolate((ROOT / "stack.yml").read_text(), {}))
    environment = stack["services"]["postgres"]["environment"]
    assert (
        environment["POSTGRES_DB"],
        environment["POSTGRES_OWNER_ROLE"],
        environment["POSTGRES_APP_ROLE"],
    ) == (DATABASE_VARIABLES["DB_NAME"], DATABASE_VARIABLES["DB_OWNER_ROLE"], DATABASE_VARIABLES["DB_APP_ROLE"])

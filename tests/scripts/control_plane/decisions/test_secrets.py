"""decisions/secrets.py: the stack's secret list (held equal to stack.yml's) and which are missing or half-made."""

from __future__ import annotations

import re

import pytest
import yaml

from scripts.control_plane.decisions.secrets import (
    database_secrets_exist,
    database_url,
    secret_plan,
    secrets_to_remove,
    stack_secret_names,
)
from tests.servers import ROOT


def stack_yml_secret_names(stack: str) -> set[str]:
    """The external secret names stack.yml declares, as `docker stack deploy` interpolates them."""
    text = re.sub(r"\$\{STACK_NAME:-partscat\}", stack, (ROOT / "stack.yml").read_text())
    return {str(secret["name"]) for secret in yaml.safe_load(text)["secrets"].values()}


@pytest.mark.parametrize("stack", ["partscat", "catalog_staging"])
def test_the_list_is_the_one_stack_yml_names(stack: str) -> None:
    names = stack_secret_names(stack)
    assert set(names) == stack_yml_secret_names(stack)
    assert len(names) == len(set(names))


def test_the_list_in_lib_sh_order() -> None:
    assert stack_secret_names("s")[:5] == [
        "s_db_owner_password",
        "s_db_owner_url",
        "s_db_app_password",
        "s_db_app_url",
        "s_django_secret_key",
    ]


def test_a_fresh_swarm_needs_every_secret() -> None:
    plan = secret_plan("partscat", set())
    assert plan.refusal is None
    assert set(plan.missing) == set(stack_secret_names("partscat"))
    assert [(pair.role, present) for pair, present in plan.pairs] == [
        ("partscat_owner", False),
        ("partscat_app", False),
    ]


def test_a_complete_swarm_needs_nothing() -> None:
    plan = secret_plan("partscat", set(stack_secret_names("partscat")) | {"partscat_tls_cert_0"})
    assert plan.missing == []
    assert plan.refusal is None


def test_a_pair_with_one_half_is_refused_by_name() -> None:
    existing = set(stack_secret_names("partscat")) - {"partscat_db_app_url"}
    plan = secret_plan("partscat", existing)
    assert plan.refusal == (
        "only one of partscat_db_app_password / partscat_db_app_url exists; "
        "remove it (docker secret rm) so that both are made again"
    )


def test_a_missing_random_secret_is_made_alone() -> None:
    existing = set(stack_secret_names("partscat")) - {"partscat_jobs_api_token"}
    assert secret_plan("partscat", existing).missing == ["partscat_jobs_api_token"]


def test_database_url() -> None:
    assert database_url("partscat_app", "pw") == "postgres://partscat_app:pw@postgres:5432/partscat"


@pytest.mark.parametrize(
    ("existing", "evidence"),
    [
        (set(), False),
        ({"partscat_django_secret_key"}, False),
        ({"partscat_db_app_password"}, True),
        ({"partscat_db_password"}, True),  # the name before the role split
        ({"other_db_app_password"}, False),
    ],
)
def test_database_secrets_are_the_evidence_of_an_earlier_deploy(existing: set[str], evidence: bool) -> None:
    assert database_secrets_exist("partscat", existing) is evidence


def test_down_removes_the_stack_secrets_the_old_names_and_the_tls_copies() -> None:
    existing = {"partscat_db_app_url", "partscat_db_password", "partscat_tls_cert_abc", "other_tls_cert_x"}
    assert secrets_to_remove("partscat", existing) == [
        "partscat_db_app_url",
        "partscat_db_password",
        "partscat_tls_cert_abc",
    ]

"""decisions/teardown.py: down's arguments, whether the stack is gone, which volumes --volumes removes."""

from __future__ import annotations

import pytest

from scripts.control_plane.decisions import teardown
from scripts.control_plane.records import Container


def test_arguments() -> None:
    assert teardown.down_arguments_parse([]) is False
    assert teardown.down_arguments_parse(["--volumes"]) is True
    for args in (["--bogus"], ["--volumes", "x"], ["-v"]):
        with pytest.raises(teardown.DownArgumentsError, match=r"^usage: down.sh \[--volumes\]$"):
            teardown.down_arguments_parse(args)


def test_the_stack_is_gone_with_no_container_and_no_network() -> None:
    assert teardown.stack_leftovers([], []) is None
    one = Container(id="c1", name="partscat_nginx.1.x", image="i", state="exited", status="Exited (0)")
    assert teardown.stack_leftovers([one], []) == "1 container"
    assert teardown.stack_leftovers([one, one], ["partscat_redis", "partscat_backend"]) == (
        "2 containers and networks partscat_backend, partscat_redis"
    )


def test_the_volumes_removed_are_the_stack_s_that_exist() -> None:
    existing = {"partscat_edge-socket", "partscat_pgdata", "other_pgdata"}
    assert teardown.volumes_to_remove("partscat", existing) == ["partscat_pgdata", "partscat_edge-socket"]
    assert teardown.volumes_to_remove("partscat", set()) == []

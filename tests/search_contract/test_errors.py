"""The shared error on its own: however many problems a request has, the body names a bounded few."""

from __future__ import annotations

import orjson

from search_contract.errors import (
    MAX_ECHOED_NAME,
    MAX_ERROR_FIELDS,
    MAX_REASON_CHARS,
    ContractError,
    error_body,
    validation_error,
)


def test_an_error_lists_the_first_problems_cut_to_size_and_counts_the_rest() -> None:
    problems = {f"unknown-{number:05d}-" + "x" * 100: "unknown field" for number in range(7_000)}
    problems["page"] = "must be an integer from 1 to 1000"

    error = validation_error(problems)

    first = list(problems)[:MAX_ERROR_FIELDS]
    assert list(error.fields) == [name[:MAX_ECHOED_NAME] for name in first]
    assert error.fields_left_out == len(problems) - MAX_ERROR_FIELDS
    assert error.message == (
        f"Invalid search request: {', '.join(sorted(error.fields))} and {len(problems) - MAX_ERROR_FIELDS} more."
    )
    assert len(orjson.dumps(error.body())) < 4_000

    # Every other error is bounded alike: the jobs API's, and a body built without validation_error.
    assert len(ContractError(status=409, code="x", message="m", fields=problems).fields) == MAX_ERROR_FIELDS
    assert len(error_body(code="x", message="m", fields=problems)["error"]["fields"]) == MAX_ERROR_FIELDS
    long_reason = validation_error({"fields": "unknown field " + "y" * 5_000}).fields["fields"]
    assert len(long_reason) == MAX_REASON_CHARS


def test_a_few_problems_are_all_shown_as_before() -> None:
    error = validation_error({"page": "must be an integer", "params.colour": "unknown key"})
    assert error.body() == {
        "error": {
            "code": "validation_error",
            "message": "Invalid search request: page, params.colour.",
            "fields": {"page": "must be an integer", "params.colour": "unknown key"},
        }
    }
    assert error.fields_left_out == 0

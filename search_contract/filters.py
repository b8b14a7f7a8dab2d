"""Parse and validate the body of ``POST /search/part/`` into :class:`PartFilters`.

The rules (see shared DESIGN.md, "The search contract"):

- the body is a UTF-8 JSON object of at most ``MAX_BODY_BYTES``; every field is
  optional and ``null`` means "not given";
- unknown fields and unknown ``params`` keys are refused, as are wrong types
  (``"page": "2"`` and ``"page": true`` are not integers);
- texts are at most ``MAX_TEXT_CHARS`` characters of valid Unicode without NUL
  (PostgreSQL cannot store NUL in text, so such a value could only fail later);
- id lists hold at most ``MAX_LIST_ITEMS`` positive integers; an empty list
  matches nothing ("any of" no id);
- price bounds are finite numbers from 0 to the largest storable price; as prices
  are integers, ``price_gte`` is rounded up and ``price_lte`` down;
- ``page`` is an integer from 1 to ``MAX_PAGE``: a page is an OFFSET, so a deep one costs a scan of every
  match before it. With a million parts and no filter, the last page (89 973) read 899 730 rows and took
  1.4 s; page 1 000 reads 10 000 rows in 8 ms. Nobody reads 1 000 pages of 10; 10 000 results is also where
  Elasticsearch stops paging (``index.max_result_window``).

Every problem found is reported at once in ``fields``, keyed by the field's name
(``params.color`` for a ``params`` key, ``body`` for the body as a whole); errors.py bounds how many are
echoed back, and how long each name may be.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from search_contract.errors import ContractError, validation_error

PAGE_SIZE = 10
MAX_BODY_BYTES = 64 * 1024
MAX_PAGE = 1_000
MAX_TEXT_CHARS = 200
MAX_LIST_ITEMS = 100
MAX_ID = 2**63 - 1  # bigint primary keys
MAX_PRICE = 2**31 - 1  # the price column is a PostgreSQL integer
MAX_COUNT = 2**31 - 1

TEXT_FIELDS = ("mark_name", "model_name", "part_name", "producer_country_name")
ID_LIST_FIELDS = ("mark_list", "model_list")
PRICE_FIELDS = ("price_gte", "price_lte")
KNOWN_FIELDS = frozenset((*TEXT_FIELDS, *ID_LIST_FIELDS, *PRICE_FIELDS, "params", "page"))
KNOWN_PARAMS = frozenset(("color", "is_new_part", "count"))


@dataclass(frozen=True, slots=True, kw_only=True)
class PartFilters:
    """A validated search request; ``None`` means the filter was not given."""

    mark_name: str | None = None
    mark_ids: tuple[int, ...] | None = None
    model_name: str | None = None
    model_ids: tuple[int, ...] | None = None
    part_name: str | None = None
    producer_country_name: str | None = None
    color: str | None = None
    is_new_part: bool | None = None
    count: int | None = None
    price_gte: int | None = None
    price_lte: int | None = None
    page: int = 1

    @property
    def offset(self) -> int:
        return (self.page - 1) * PAGE_SIZE


class _FieldError(Exception):
    pass


def _refuse(reason: str) -> NoReturn:
    raise _FieldError(reason)


def _body_error(reason: str) -> ContractError:
    return validation_error({"body": reason})


def body_too_large() -> ContractError:
    """The error for a body over ``MAX_BODY_BYTES``, also raised before reading one."""
    return _body_error(f"must be at most {MAX_BODY_BYTES} bytes")


def _reject_constant(name: str) -> NoReturn:
    # json.loads accepts NaN, Infinity and -Infinity, which are not JSON.
    raise ValueError(f"{name} is not JSON")


def _decode(body: bytes) -> Any:
    if len(body) > MAX_BODY_BYTES:
        raise body_too_large()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _body_error("must be UTF-8 encoded JSON") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        # ValueError covers malformed JSON and integers too long to convert;
        # RecursionError covers absurdly deep nesting.
        raise _body_error("is not valid JSON") from None


def _text(value: Any) -> str:
    if not isinstance(value, str):
        _refuse("must be a string")
    if len(value) > MAX_TEXT_CHARS:
        _refuse(f"must be at most {MAX_TEXT_CHARS} characters")
    if "\x00" in value:
        _refuse("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        _refuse("must be valid Unicode text")
    return value


def _integer(value: Any, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        _refuse("must be an integer")
    if not low <= value <= high:
        _refuse(f"must be an integer from {low} to {high}")
    return value


def _id_list(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list):
        _refuse("must be a list of integer ids")
    if len(value) > MAX_LIST_ITEMS:
        _refuse(f"must have at most {MAX_LIST_ITEMS} items")
    ids = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int) or not 1 <= item <= MAX_ID:
            _refuse(f"must be a list of integer ids from 1 to {MAX_ID}")
        ids.append(item)
    return tuple(ids)


def _price(value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _refuse("must be a number")
    if not (math.isfinite(value) and 0 <= value <= MAX_PRICE):
        _refuse(f"must be a number from 0 to {MAX_PRICE}")
    return value


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        _refuse("must be true or false")
    return value


def _page(value: Any) -> int:
    return _integer(value, low=1, high=MAX_PAGE)


def _count(value: Any) -> int:
    return _integer(value, low=0, high=MAX_COUNT)


def _parse_params(raw: Any, errors: dict[str, str], out: dict[str, Any]) -> None:
    if not isinstance(raw, dict):
        errors["params"] = "must be an object"
        return
    parsers: dict[str, Callable[[Any], Any]] = {"color": _text, "is_new_part": _boolean, "count": _count}
    for key, value in raw.items():
        name = f"params.{key}"
        if key not in KNOWN_PARAMS:
            errors[name] = "unknown key; allowed: color, is_new_part, count"
            continue
        if value is None:
            continue
        try:
            out[key] = parsers[key](value)
        except _FieldError as exc:
            errors[name] = str(exc)


# field -> (PartFilters attribute, parser); "params" and the price pair are special.
_FIELD_PARSERS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    **{name: (name, _text) for name in TEXT_FIELDS},
    "mark_list": ("mark_ids", _id_list),
    "model_list": ("model_ids", _id_list),
    "price_gte": ("price_gte", _price),
    "price_lte": ("price_lte", _price),
    "page": ("page", _page),
}


def parse_search_request(body: bytes) -> PartFilters:
    """Validate a raw request body; raise :class:`ContractError` (400) if it is bad."""
    data = _decode(body)
    if not isinstance(data, dict):
        raise _body_error("must be a JSON object")

    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    for name, value in data.items():
        if name not in KNOWN_FIELDS:
            errors[name] = "unknown field"
        elif value is None:
            continue
        elif name == "params":
            _parse_params(value, errors, out)
        else:
            attribute, parser = _FIELD_PARSERS[name]
            try:
                out[attribute] = parser(value)
            except _FieldError as exc:
                errors[name] = str(exc)

    low, high = out.get("price_gte"), out.get("price_lte")
    if low is not None and high is not None and low > high:
        errors["price_gte"] = "must not be greater than price_lte"
    if errors:
        raise validation_error(errors)
    # Prices are integers: round the bounds inwards once they are known to be sane.
    if low is not None:
        out["price_gte"] = math.ceil(low)
    if high is not None:
        out["price_lte"] = math.floor(high)
    return PartFilters(**out)

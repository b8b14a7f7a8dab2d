"""The parts-search contract shared by the Django and FastAPI services.

Both services parse the request body with :func:`parse_search_request` and render
errors with :class:`ContractError`, so the two can never drift apart on what they
accept or on the JSON they answer with. Pure standard library: no framework import.

Only the contract lives here: what is accepted and what is answered. What the services merely share (settings,
probes, the response cache, the totals' plan) is service_common/.
"""

from search_contract.errors import ContractError, error_body
from search_contract.filters import (
    MAX_BODY_BYTES,
    PAGE_SIZE,
    PartFilters,
    body_too_large,
    parse_search_request,
)

__all__ = [
    "MAX_BODY_BYTES",
    "PAGE_SIZE",
    "ContractError",
    "PartFilters",
    "body_too_large",
    "error_body",
    "parse_search_request",
]

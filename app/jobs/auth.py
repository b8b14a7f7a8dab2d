"""API tokens: making, hashing, checking (``Authorization: Bearer ...``) and revoking them.

A token is ``secrets.token_urlsafe(32)`` (32 random bytes, 43 characters). Only its SHA-256 digest is stored
(ApiToken.digest) with its first 8 characters (ApiToken.prefix) to tell tokens apart; the token itself is shown
once, when it is made (the create_api_token command, the admin's add form). The write endpoints take the
token through :func:`token_required`. Reads are open, but only a reader with a token sees what a job's input
and outcome may hold (:func:`token_reader`, jobs.selectors.JOB_PRIVATE_FIELDS).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from jobs.errors import token_invalid, token_missing, token_revoked
from jobs.models import ApiToken

TOKEN_BYTES = 32
PREFIX_CHARS = 8
# last_used_at is written at most this often per token: one UPDATE a minute, not one per request.
LAST_USED_EVERY = timedelta(minutes=1)
# RFC 6750's b64token: the characters a bearer token may hold. token_urlsafe's alphabet is within it.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
# A token given to ensure_api_token (a Docker secret) must be at least this long: a guessable one is refused.
TOKEN_MIN_CHARS = 20
# The transaction-level advisory lock that serialises api_token_ensure: every django task of a deploy runs it
# at start (scripts/images/app-entrypoint.sh), and two that both found no row would both insert one.
TOKEN_ENSURE_LOCK_KEY = 0x6A6F62735F746B  # "jobs_tk"

View = Callable[..., HttpResponse]


def token_generate() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    """SHA-256, hex. A fast hash is enough: the token is random, so there is nothing to stretch against."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_prefix(token: str) -> str:
    return token[:PREFIX_CHARS]


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None without the header.

    Raises the 401 for a header that is not a well-formed bearer credential (another scheme, no token,
    characters a token cannot hold)."""
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not _B64TOKEN.fullmatch(token):
        raise token_invalid()
    return token


def token_authenticate(*, authorization: str | None) -> ApiToken:
    """The live ApiToken that the Authorization header names; the API's 401 or 403 otherwise.

    The token is looked up by its digest, not compared against stored values, so a constant-time comparison
    buys nothing: response time can only depend on the digest of what the client sent, and learning how
    many leading characters of that digest match a stored one tells nothing about a token that hashes to it.
    """
    token = bearer_token(authorization)
    if token is None:
        raise token_missing()
    found = ApiToken.objects.filter(digest=token_digest(token)).first()
    if found is None:
        raise token_invalid()
    if found.revoked_at is not None:
        raise token_revoked()
    api_token_touch(token=found)
    return found


def api_token_touch(*, token: ApiToken) -> None:
    """Record that the token was used, at most once every LAST_USED_EVERY (the condition also keeps
    concurrent requests from writing the row more than once)."""
    now = timezone.now()
    stale = now - LAST_USED_EVERY
    if token.last_used_at is not None and token.last_used_at > stale:
        return
    ApiToken.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=stale), pk=token.pk).update(
        last_used_at=now
    )
    token.last_used_at = now


def token_required(view: View) -> View:
    """Call ``view(request, ..., token=ApiToken)`` for a request with a live token; 401 or 403 before it
    otherwise, before the body is read."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token = token_authenticate(authorization=request.headers.get("Authorization"))
        return view(request, *args, token=token, **kwargs)

    return wrapper


def token_reader(request: HttpRequest) -> ApiToken | None:
    """The live token of a read that sends one; None for a read without an Authorization header.

    A token that is sent must be good: a wrong or revoked one gets the same 401 or 403 as on a write, never a
    quiet anonymous answer that would look like a job without a result."""
    authorization = request.headers.get("Authorization")
    if authorization is None:
        return None
    return token_authenticate(authorization=authorization)


class TokenError(Exception):
    """A token command that cannot be done (a name in use, an unknown name, an unusable token)."""


def api_token_create(*, name: str) -> tuple[ApiToken, str]:
    """A new token named ``name``: the row and the token itself, which is not stored and not shown again."""
    name = name.strip()
    if not name:
        raise TokenError("a token needs a name")
    if ApiToken.objects.filter(name=name).exists():
        raise TokenError(f'an API token named "{name}" exists already; revoke it or choose another name')
    token = token_generate()
    row = ApiToken.objects.create(name=name, prefix=token_prefix(token), digest=token_digest(token))
    return row, token


def api_token_revoke(*, name: str) -> tuple[ApiToken, bool]:
    """Revoke the token named ``name``; returns it and whether it was live until now."""
    row = ApiToken.objects.filter(name=name).first()
    if row is None:
        raise TokenError(f'no API token is named "{name}"')
    if row.revoked_at is not None:
        return row, False
    row.revoked_at = timezone.now()
    row.save(update_fields=["revoked_at"])
    return row, True


def api_tokens_revoke(*, ids: list[int]) -> int:
    """Revoke the live tokens among ``ids`` (the admin's action); returns how many were live."""
    return ApiToken.objects.filter(pk__in=ids, revoked_at__isnull=True).update(revoked_at=timezone.now())


@dataclass(frozen=True, slots=True)
class TokenEnsured:
    """What api_token_ensure did: ``created``, ``rotated`` (the name's digest replaced) or ``unchanged``."""

    action: str
    token: ApiToken
    previous_prefix: str = ""


def api_token_ensure(*, name: str, token: str) -> TokenEnsured:
    """Make sure ``token`` is a token named ``name`` (the deploy gives it from the jobs_api_token secret).

    Idempotent, and safe to run from several processes at once (an advisory lock serialises them): nothing
    changes when a token with this digest exists already (under any name; a revoked one stays revoked). When
    ``name`` exists with another digest, the secret was rotated: the digest is replaced and the token is live
    again. Otherwise a new token is created."""
    name = name.strip()
    if not name:
        raise TokenError("a token needs a name")
    if len(token) < TOKEN_MIN_CHARS or not _B64TOKEN.fullmatch(token):
        raise TokenError(
            f"the token must be at least {TOKEN_MIN_CHARS} characters of A-Z a-z 0-9 - . _ ~ + / (then = padding)"
        )
    digest = token_digest(token)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [TOKEN_ENSURE_LOCK_KEY])
        existing = ApiToken.objects.select_for_update().filter(digest=digest).first()
        if existing is not None:
            return TokenEnsured("unchanged", existing)
        named = ApiToken.objects.select_for_update().filter(name=name).first()
        if named is None:
            return TokenEnsured(
                "created", ApiToken.objects.create(name=name, prefix=token_prefix(token), digest=digest)
            )
        previous = named.prefix
        named.prefix, named.digest, named.revoked_at = token_prefix(token), digest, None
        named.save(update_fields=["prefix", "digest", "revoked_at"])
        return TokenEnsured("rotated", named, previous_prefix=previous)

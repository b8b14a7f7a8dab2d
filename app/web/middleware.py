"""What the edge needs from Django: the release on every answer, health probes whatever the Host, Secure
cookies over HTTPS; and a test release's faults."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from catalog import views
from search_contract import ContractError
from search_contract.errors import injected_fault
from search_contract.release import RELEASE_HEADER
from service_common.faults import ErrorShare, SearchFaults
from service_common.health import LIVENESS_PATH, READINESS_PATH
from web.http import error_response

GetResponse = Callable[[HttpRequest], HttpResponse]

# The probes' paths (Swarm's health check and Nginx's upstream watcher) and the views that answer them.
PROBE_VIEWS: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    LIVENESS_PATH: views.livez,
    READINESS_PATH: views.healthz,
}


class ReleaseHeaderMiddleware:
    """``X-Release: <colour>-<tag>`` (settings.RELEASE, read once at start) on every answer.

    First in MIDDLEWARE: Django turns every exception below it into a response (the 404s and 500s of
    web.http, the probes' answers, a refused host's 400), so nothing leaves without the header.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.release: str = settings.RELEASE

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response[RELEASE_HEADER] = self.release
        return response


class SearchFaultMiddleware:
    """Test releases only: delay every search, then fail a share of them with the contract's 500.

    settings.SEARCH_FAULTS (service_common/faults.py); unset, Django leaves this middleware out of the chain
    (MiddlewareNotUsed), so a real release pays nothing. It sits before DatabaseAdmissionMiddleware: a delayed
    search holds no database slot. The body is not read; gunicorn discards it before the connection's next
    request.
    """

    def __init__(self, get_response: GetResponse) -> None:
        faults: SearchFaults = settings.SEARCH_FAULTS
        if not faults.active:
            raise MiddlewareNotUsed
        self.get_response = get_response
        self.delay_s = faults.delay_s
        self.error_share = ErrorShare(faults.error_share)
        # The search in every version (config/urls.py).
        self.search_paths = frozenset({reverse("search-part"), reverse("v1:search-part")})

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path_info in self.search_paths:
            if self.delay_s:
                time.sleep(self.delay_s)
            if self.error_share.next_fails():
                return error_response(injected_fault())
        return self.get_response(request)


class HealthProbeMiddleware:
    """Answer /livez and /healthz before any other middleware asks for the request's host.

    The probes reach a task by its address and send ``Host: localhost``, because a task has no public name,
    while ALLOWED_HOSTS holds the site's real domain. CommonMiddleware's ``request.get_host()`` would refuse
    the probes with a 400, and then setting the real domain would turn every task unhealthy. So this
    middleware comes first in MIDDLEWARE. The probes read no cookie, session or user, so the middlewares
    they skip have nothing to do for them.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = PROBE_VIEWS.get(request.path_info)
        if view is None:
            return self.get_response(request)
        try:
            return view(request)
        except ContractError as error:  # a wrong method: the same JSON 405 as every other route
            return error_response(error)


class SecureCookiesOverHttpsMiddleware:
    """Mark every cookie of a response to an HTTPS request ``Secure``; leave plain HTTP alone.

    A request is HTTPS when it came through Nginx's TLS listener: Nginx sets ``X-Forwarded-Proto: https``
    there (and replaces any value a client sent), and SECURE_PROXY_SSL_HEADER makes that ``request.is_secure()``.
    SESSION_COOKIE_SECURE and CSRF_COOKIE_SECURE would mark the cookies Secure on plain HTTP too. Browsers
    drop such cookies, so the admin would stop working on the stack's :8080 and on a developer's machine.
    It comes before SessionMiddleware and CsrfViewMiddleware in MIDDLEWARE, so it sees the cookies they set.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.is_secure():
            for cookie in response.cookies.values():
                cookie["secure"] = True
        return response

"""What the edge needs from Django: health probes whatever the Host, and Secure cookies over HTTPS."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from catalog import views
from catalog.http import error_response
from search_contract import ContractError
from search_contract.health import LIVENESS_PATH, READINESS_PATH

GetResponse = Callable[[HttpRequest], HttpResponse]

# The probes' paths (Swarm's health check and Nginx's upstream watcher) and the views that answer them.
PROBE_VIEWS: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    LIVENESS_PATH: views.livez,
    READINESS_PATH: views.healthz,
}


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

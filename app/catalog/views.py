"""Thin views: parse the request, call one selector, answer JSON."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from catalog.search_cache import search_cache
from catalog.selectors import mark_list, model_list
from search_contract import body_too_large, parse_search_request
from service_common.health import HEALTH_CHECK_SQL, HEALTH_METHODS, HealthAnswer, liveness, readiness
from service_common.search_cache import CACHE_HEADER
from web.http import allow_methods, json_body_response, json_response


@csrf_exempt  # a public read-only JSON API with no cookie authentication
@allow_methods("POST")
def search_part(request: HttpRequest) -> HttpResponse:
    try:
        body = request.body
    except RequestDataTooBig:
        raise body_too_large() from None
    filters = parse_search_request(body)
    # Through the Redis response cache (catalog/search_cache.py); X-Cache says whether it answered.
    answer, cache_status = search_cache.part_search(filters=filters, cache_control=request.headers.get("Cache-Control"))
    response = json_body_response(answer)
    response[CACHE_HEADER] = cache_status
    return response


@csrf_exempt  # read-only: lets a POST get the JSON 405, not the CSRF page
@allow_methods("GET", "HEAD")
def marks(request: HttpRequest) -> HttpResponse:
    return json_response({"response": mark_list()})


@csrf_exempt
@allow_methods("GET", "HEAD")
def models(request: HttpRequest) -> HttpResponse:
    return json_response({"response": model_list()})


def _health_response(answer: HealthAnswer) -> HttpResponse:
    return json_response(answer.body, status=answer.status)


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute(HEALTH_CHECK_SQL)
    except DatabaseError:
        return False
    return True


@csrf_exempt
@allow_methods(*HEALTH_METHODS)
def livez(request: HttpRequest) -> HttpResponse:
    """Liveness, for Swarm's health check (service_common/health.py)."""
    return _health_response(liveness())


@csrf_exempt
@allow_methods(*HEALTH_METHODS)
def healthz(request: HttpRequest) -> HttpResponse:
    """Readiness, for Nginx's watcher (service_common/health.py): the drain rule, then the database."""
    return _health_response(readiness(drain_marker=settings.DRAIN_MARKER, database_answers=_database_answers))

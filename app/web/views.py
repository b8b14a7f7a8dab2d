"""The site-wide pages: the JSON index at / and the OpenAPI document of the Django API with the page that shows it."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from web import openapi
from web.http import allow_methods, json_response
from web.site_index import site_index


@csrf_exempt
@allow_methods("GET", "HEAD")
def root_index(request: HttpRequest) -> HttpResponse:
    """GET /: a small JSON index of what the stack serves, with links, instead of a bare 404."""
    return json_response(site_index())


@csrf_exempt
@allow_methods("GET", "HEAD")
def openapi_document(request: HttpRequest, prefix: str = "") -> HttpResponse:
    """The document of one version: its paths under ``prefix`` ("" for the unversioned ones, config/urls.py)."""
    return json_response(openapi.openapi_document(prefix=prefix))


@csrf_exempt
@allow_methods("GET", "HEAD")
def api_docs(request: HttpRequest, openapi_url_name: str = "openapi") -> HttpResponse:
    """The OpenAPI document as a readable page: self-contained (no CDN; the page loads the document itself)."""
    return render(request, "web/api_docs.html", {"openapi_url": reverse(openapi_url_name)})

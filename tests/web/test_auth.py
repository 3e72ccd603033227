"""The bearer token: with ``api_token`` set, no /api/* endpoint and not /metrics answers without it; the
dashboard page and its static files load without it. Over real HTTP against a service on the simulator."""

from __future__ import annotations

import re

import pytest
import requests

from tradeactors.web import create_app

TOKEN = "s3cret-token-for-tests-0123456789"
UNAUTHORIZED = {"error": {"code": "unauthorized", "message": "missing or invalid bearer token", "details": {}}}


def protected_paths(app) -> list[str]:
    """Every /api/* and /metrics route of the app, with converters filled by a plausible value."""
    paths = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or rule.rule == "/metrics":
            paths.add(re.sub(r"<[^>]+>", "x", rule.rule))
    return sorted(paths)


@pytest.fixture
def secured(service_factory):
    service = service_factory(api_token=TOKEN)
    return service, protected_paths(create_app(service.config, service))


def test_every_api_path_and_metrics_refuse_requests_without_the_token(secured):
    service, paths = secured
    assert "/metrics" in paths and "/api/status" in paths and "/api/openapi.json" in paths
    bad_headers = [{}, {"Authorization": "Bearer"}, {"Authorization": f"Bearer {TOKEN}x"},
                   {"Authorization": f"Bearer {TOKEN[:-1]}"}, {"Authorization": TOKEN},
                   {"Authorization": f"Basic {TOKEN}"}, {"Authorization": f"bearer  {TOKEN}"},
                   {"Authorization": "Bearer \u00e9\u00e9"}]
    for path in paths + ["/api/does-not-exist", "/api"]:
        for headers in bad_headers:
            response = requests.get(f"{service.http.url}{path}", headers=headers, timeout=10)
            assert response.status_code == 401, (path, headers)
            assert response.json() == UNAUTHORIZED, (path, headers)
            assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_every_api_path_and_metrics_answer_with_the_token(secured):
    service, paths = secured
    for path in paths:
        response = requests.get(f"{service.http.url}{path}", headers={"Authorization": f"Bearer {TOKEN}"},
                                timeout=10)
        assert response.status_code not in (401, 403), path
        assert response.status_code < 500 or response.status_code == 503, path


def test_dashboard_page_and_static_files_load_without_the_token(secured):
    service, _ = secured
    page = requests.get(f"{service.http.url}/", timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert "sessionStorage" in requests.get(f"{service.http.url}/static/dashboard.js", timeout=10).text


def test_without_a_configured_token_nothing_is_asked(service_factory):
    service = service_factory()
    assert requests.get(f"{service.http.url}/metrics", timeout=10).status_code == 200
    assert requests.get(f"{service.http.url}/api/status", timeout=10).status_code == 200

"""The bearer token: with ``api_token`` set, no /api/* endpoint and not /metrics answers without it; the
dashboard page and its static files load without it. Every path on the stand-in facade (tests/web/conftest.py);
one test over real HTTP against a live service, where the hook runs behind waitress."""

from __future__ import annotations

import re

import pytest
import requests

from tests.web.standin import StandIn
from tradeactors.web import create_app

TOKEN = "s3cret-token-for-tests-0123456789"
UNAUTHORIZED = {"error": {"code": "unauthorized", "message": "missing or invalid bearer token", "details": {}}}
BAD_HEADERS = [{}, {"Authorization": "Bearer"}, {"Authorization": f"Bearer {TOKEN}x"},
               {"Authorization": f"Bearer {TOKEN[:-1]}"}, {"Authorization": TOKEN},
               {"Authorization": f"Basic {TOKEN}"}, {"Authorization": f"bearer  {TOKEN}"},
               {"Authorization": "Bearer \u00e9\u00e9"}, {"Authorization": f"Bearer {TOKEN.upper()}"}]
GOOD = {"Authorization": f"Bearer {TOKEN}"}


def protected_paths(app) -> list[str]:
    """Every /api/* and /metrics route of the app, with converters filled by a plausible value."""
    paths = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or rule.rule == "/metrics":
            paths.add(re.sub(r"<[^>]+>", "x", rule.rule))
    return sorted(paths)


@pytest.fixture
def secured():
    standin = StandIn(api_token=TOKEN)
    return standin, create_app(standin.config, standin).test_client()


def test_every_api_path_and_metrics_refuse_requests_without_the_token(secured):
    standin, client = secured
    paths = protected_paths(client.application)
    assert "/metrics" in paths and "/api/status" in paths and "/api/openapi.json" in paths
    for path in [*paths, "/api/does-not-exist", "/api"]:
        for headers in BAD_HEADERS:
            response = client.get(path, headers=headers)
            assert response.status_code == 401, (path, headers)
            assert response.get_json() == UNAUTHORIZED, (path, headers)
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert standin.calls == [], "a refused request must not reach the facade"


def test_every_api_path_and_metrics_answer_with_the_token(secured):
    _standin, client = secured
    for path in protected_paths(client.application):
        response = client.get(path, headers=GOOD)
        assert response.status_code not in (401, 403), path
        assert response.status_code < 500, path
    assert client.get("/api/status", headers=GOOD).status_code == 200


def test_dashboard_page_and_static_files_load_without_the_token(secured):
    _, client = secured
    page = client.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "sessionStorage" in client.get("/static/dashboard.js").get_data(as_text=True)


def test_without_a_configured_token_nothing_is_asked(client):
    assert client.get("/metrics").status_code == 200
    assert client.get("/api/status").status_code == 200


def test_a_live_service_with_a_token_checks_it_over_http(service_factory):
    service = service_factory(api_token=TOKEN)
    url = service.http.url
    for path in ("/api/status", "/metrics", "/api/trades"):
        response = requests.get(f"{url}{path}", headers={"Authorization": f"Bearer {TOKEN}x"}, timeout=10)
        assert (response.status_code, response.json()) == (401, UNAUTHORIZED), path
    assert requests.get(f"{url}/api/status", headers=GOOD, timeout=10).json()["symbols"].keys() == \
        {"BTCUSDT", "ETHUSDT"}
    assert requests.get(f"{url}/metrics", headers=GOOD, timeout=10).text.startswith("# HELP")
    assert requests.get(f"{url}/", timeout=10).status_code == 200

"""The HTTP API's error contract, on a fresh app over a real running service."""

import pytest

from tradeactors.web import create_app


@pytest.fixture
def client(service_factory):
    service = service_factory()
    return create_app(service.config, service).test_client()


@pytest.mark.parametrize("query,field", [
    ("start=0&end=1", "symbol"),
    ("symbol=BTC-USDT&start=0&end=1", "symbol"),
    ("symbol=%27%3B%20DROP&start=0&end=1", "symbol"),
    ("symbol=BTCUSDT&end=1", "start"),
    ("symbol=BTCUSDT&start=abc&end=1", "start"),
    ("symbol=BTCUSDT&start=1.5&end=2", "start"),
    ("symbol=BTCUSDT&start=-1&end=2", "start"),
    ("symbol=BTCUSDT&start=0&end=99999999999999999999", "end"),
    ("symbol=BTCUSDT&start=5&end=1", "end"),
    ("symbol=BTCUSDT&start=0&end=604800001", "end"),
    ("symbol=BTCUSDT&start=0&end=1&limit=0", "limit"),
    ("symbol=BTCUSDT&start=0&end=1&limit=10001", "limit"),
    ("symbol=BTCUSDT&start=0&end=1&cursor=xyz", "cursor"),
])
def test_bad_parameters_are_400_naming_the_field(client, query, field):
    response = client.get(f"/api/trades?{query}")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_parameter"
    assert error["details"]["field"] == field
    assert error["message"].startswith(field)


def test_unknown_symbol_is_404(client):
    response = client.get("/api/trades?symbol=dogeusdt&start=0&end=1")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "unknown_symbol"


def test_unknown_path_is_json_404(client):
    response = client.get("/api/nothing")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_symbol_is_trimmed_and_upper_cased(client):
    response = client.get("/api/trades?symbol=%20btcusdt%20&start=0&end=1")
    assert response.status_code == 200
    assert response.get_json() == {"symbol": "BTCUSDT", "start": 0, "end": 1, "count": 0, "trades": [],
                                   "next_cursor": None}


def test_actor_unavailable_is_503(client, service_factory):
    service = client.application.extensions["tradeactors"]
    service.directory.unregister("query")
    response = client.get("/api/trades?symbol=BTCUSDT&start=0&end=1")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "unavailable"

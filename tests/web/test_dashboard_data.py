"""``GET /api/dashboard`` (web/dashboard.py), the page's one request per refresh, on the stand-in facade with a
whole market: one round of status asks, one page of rows chosen by the server, sections without per-symbol maps.
The page itself is tested in a browser (test_dashboard.py)."""

from __future__ import annotations

import pytest

from tests.web.test_api import market
from tradeactors import parameters
from tradeactors.bench.web import backfill_status, stream_status, symbol_names
from tradeactors.web import create_app


@pytest.fixture
def whole():
    symbols = symbol_names(1500)
    standin = market(1500)
    standin.statuses.update({s: stream_status(i, 0) for i, s in enumerate(symbols) if i >= 12})
    standin.sections["backfill"] = backfill_status(symbols, 0)
    standin.sections["actors"]["stream:S0100USDT"] = {"alive": False, "restarts": 2}
    return standin, create_app(standin.config, standin).test_client()


def test_one_refresh_asks_once_and_answers_one_page_and_the_counts(whole):
    standin, client = whole
    response = client.get("/api/dashboard")
    assert response.status_code == 200
    body = response.get_json()
    assert [c[0] for c in standin.calls] == ["health_and_status", "health"]  # no second round for the status
    assert body["page"] == {"offset": 0, "limit": 50, "matched": 1500, "total": 1500}
    assert len(body["rows"]) == 50
    assert body["rows"][0]["symbol"] == "S0004USDT"  # its actor did not answer: the most urgent
    assert body["summary"]["symbols"] == 1500
    assert len(body["config"]["symbols"]) == 1500
    assert "symbols" not in body["status"]
    assert body["status"]["storage"]["holes"] == {} and body["status"]["backfill"]["last_gap"] == {}
    # 1,500 StreamActors are counted; only the one that died is listed.
    assert body["status"]["actors"] == {"stream:S0100USDT": {"alive": False, "restarts": 2}}
    assert body["status"]["stream_actors"] == {"streams": 1500, "alive": 1499, "restarts": 2}
    assert len(response.data) < 100_000


def test_the_page_is_chosen_by_text_state_sort_order_offset_and_limit(whole):
    _standin, client = whole
    body = client.get("/api/dashboard?q=%20s01&sort=symbol&order=desc&offset=10&limit=5").get_json()
    assert body["page"] == {"offset": 10, "limit": 5, "matched": 100, "total": 1500}
    assert [r["symbol"] for r in body["rows"]] == [f"S0{i}USDT" for i in range(189, 184, -1)]
    chosen = client.get("/api/dashboard?state=holes&limit=500").get_json()
    assert chosen["page"]["matched"] == chosen["summary"]["attention_by_reason"]["holes"]
    assert all("holes" in r["attention"] for r in chosen["rows"])


def test_the_rows_carry_the_last_gap_of_their_symbol(whole):
    _standin, client = whole
    rows = client.get("/api/dashboard?q=BTCUSDT").get_json()["rows"]
    assert [r["symbol"] for r in rows] == ["BTCUSDT"]
    assert rows[0]["last_gap"]["via"] == "hole"


@pytest.mark.parametrize("query,field", [
    ("q=BTC-USDT", "q"), ("q=" + "A" * 21, "q"), ("state=busy", "state"), ("sort=price", "sort"),
    ("order=up", "order"), ("offset=-1", "offset"), ("limit=0", "limit"), ("limit=501", "limit"),
])
def test_bad_dashboard_parameters_are_400_naming_the_field(whole, query, field):
    standin, client = whole
    response = client.get(f"/api/dashboard?{query}")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert (error["code"], error["details"]["field"]) == ("invalid_parameter", field)
    assert error["message"].startswith(f"{field}: ")
    assert standin.calls == []


def test_sort_columns_and_state_filters_are_the_documented_choices(client):
    doc = client.get("/api/openapi.json").get_json()
    params = {p["name"]: p["schema"] for p in doc["paths"]["/api/dashboard"]["get"]["parameters"]}
    assert params["sort"]["enum"] == list(parameters.SORT_COLUMNS)
    assert params["state"]["enum"] == list(parameters.STATE_FILTERS)
    for column in parameters.SORT_COLUMNS:
        assert client.get(f"/api/dashboard?sort={column}&order=desc").status_code == 200
    for state in parameters.STATE_FILTERS:
        assert client.get(f"/api/dashboard?state={state}").status_code == 200

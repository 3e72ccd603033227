"""The analytics endpoints' HTTP contract on the stand-in facade: parameters parsed (ranges, defaults, types) and
handed to ``analyze``, its answer passed through, its domain errors turned into 400/404/422/503. The analytics
through the real service are in tests/test_analytics_api.py."""

from __future__ import annotations

import pytest

from tradeactors.errors import InsufficientData, InvalidParameter, Unavailable

TOOLS = ["volume_profile", "liquidity_vacuums", "order_flow", "microstructure_health", "market_anomalies"]

BAD = [
    ("volume_profile", {"duration_hours": "0"}, "duration_hours", {"minimum": 1, "maximum": 168}),
    ("volume_profile", {"duration_hours": "169"}, "duration_hours", {"minimum": 1, "maximum": 168}),
    ("volume_profile", {"duration_hours": "1.5"}, "duration_hours", {"minimum": 1, "maximum": 168}),
    ("volume_profile", {"tick_size": "-1"}, "tick_size", {}),
    ("volume_profile", {"tick_size": "abc"}, "tick_size", {}),
    ("volume_profile", {"value_area_pct": "0"}, "value_area_pct", {"minimum": 0, "maximum": 1}),
    ("volume_profile", {"value_area_pct": "1.01"}, "value_area_pct", {"minimum": 0, "maximum": 1}),
    ("liquidity_vacuums", {"duration_hours": "169"}, "duration_hours", {"minimum": 1, "maximum": 168}),
    ("liquidity_vacuums", {"tick_size": "0"}, "tick_size", {}),
    ("liquidity_vacuums", {"threshold_ratio": "1"}, "threshold_ratio", {"minimum": 0, "maximum": 1}),
    ("liquidity_vacuums", {"threshold_ratio": "0"}, "threshold_ratio", {"minimum": 0, "maximum": 1}),
    ("order_flow", {"window_duration_secs": "9"}, "window_duration_secs", {"minimum": 10, "maximum": 300}),
    ("order_flow", {"window_duration_secs": "301"}, "window_duration_secs", {"minimum": 10, "maximum": 300}),
    ("order_flow", {"depth_levels": "21"}, "depth_levels", {"minimum": 1, "maximum": 20}),
    ("order_flow", {"depth_levels": "0"}, "depth_levels", {"minimum": 1, "maximum": 20}),
    ("microstructure_health", {"window_duration_secs": "x"}, "window_duration_secs", {"minimum": 10, "maximum": 300}),
    ("market_anomalies", {"window_duration_secs": "5"}, "window_duration_secs", {"minimum": 10, "maximum": 300}),
    ("market_anomalies", {"baseline_minutes": "4"}, "baseline_minutes", {"minimum": 5, "maximum": 1440}),
    ("market_anomalies", {"baseline_minutes": "1441"}, "baseline_minutes", {"minimum": 5, "maximum": 1440}),
]


@pytest.mark.parametrize("tool,params,field,bounds", BAD)
def test_every_bad_parameter_is_a_400_naming_it_and_its_range(client, standin, tool, params, field, bounds):
    response = client.get(f"/api/{tool}", query_string={"symbol": "BTCUSDT", **params})
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "invalid_parameter" and error["message"].startswith(f"{field}: ")
    assert error["details"] == {"field": field, **bounds}
    assert standin.calls == [], "a bad request must not reach the facade"


@pytest.mark.parametrize("tool", TOOLS)
def test_an_unknown_symbol_is_404_for_every_tool(client, tool):
    response = client.get(f"/api/{tool}?symbol=DOGEUSDT")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "unknown_symbol"


@pytest.mark.parametrize("tool,defaults", [
    ("volume_profile", {"duration_hours": 24, "tick_size": None, "value_area_pct": 0.70}),
    ("liquidity_vacuums", {"duration_hours": 24, "tick_size": None, "threshold_ratio": 0.20}),
    ("order_flow", {"window_duration_secs": 60, "depth_levels": 20}),
    ("microstructure_health", {"window_duration_secs": 60, "baseline_minutes": 60}),
    ("market_anomalies", {"window_duration_secs": 60, "baseline_minutes": 60}),
])
def test_left_out_parameters_reach_the_tool_as_their_defaults(client, standin, tool, defaults):
    response = client.get(f"/api/{tool}?symbol=btcusdt")
    assert (response.status_code, response.get_json()) == (200, {"answer": "canned"})
    assert standin.calls == [("analyze", tool, "BTCUSDT", defaults)]


def test_given_parameters_reach_the_tool_typed(client, standin):
    client.get("/api/volume_profile?symbol=ETHUSDT&duration_hours=168&tick_size=%200.50%20&value_area_pct=1")
    client.get("/api/liquidity_vacuums?symbol=ETHUSDT&duration_hours=1&threshold_ratio=.5")
    client.get("/api/market_anomalies?symbol=ETHUSDT&window_duration_secs=300&baseline_minutes=1440")
    params = [call[3] for call in standin.calls]
    assert params == [{"duration_hours": 168, "tick_size": "0.50", "value_area_pct": 1.0},
                      {"duration_hours": 1, "tick_size": None, "threshold_ratio": 0.5},
                      {"window_duration_secs": 300, "baseline_minutes": 1440}]
    assert [type(v) for v in params[0].values()] == [int, str, float]


def test_the_tool_parameters_are_checked_before_the_symbol(client):
    """A request with both faults has always been told about the parameter first."""
    response = client.get("/api/order_flow?symbol=DOGEUSDT&depth_levels=21")
    assert (response.status_code, response.get_json()["error"]["details"]["field"]) == (400, "depth_levels")
    response = client.get("/api/order_flow?depth_levels=21")
    assert response.get_json()["error"]["details"]["field"] == "depth_levels"


def test_the_answer_is_passed_through_as_json(client, standin):
    standin.analysis = {"symbol": "BTCUSDT", "histogram": [{"price_level": "1.5", "volume": "2"}],
                        "value_area_pct_actual": 0.7012, "vacuums": []}
    assert client.get("/api/volume_profile?symbol=BTCUSDT").get_json() == standin.analysis


def test_too_little_history_is_a_422_with_what_is_missing_and_the_wait(client, standin):
    standin.analysis = InsufficientData(1000, 50, collecting_since=1_700_000_000_000, estimated_wait_seconds=19)
    response = client.get("/api/volume_profile?symbol=BTCUSDT")
    assert response.status_code == 422
    assert response.get_data(as_text=True) == (
        '{"error":{"code":"insufficient_historical_data","message":"needs at least 1000 aggregate trades in the '
        'window, has 50; collecting since 1700000000000, about 19 s more","details":{"required":1000,'
        '"available":50,"collecting_since":1700000000000,"estimated_wait_seconds":19}}}')


def test_a_parameter_the_tool_itself_refuses_is_a_400(client, standin):
    """E.g. a tick_size that would make too many bins: only the tool, seeing the prices, can tell."""
    standin.analysis = InvalidParameter("tick_size", "would make 200000 bins over this price range; at most 100000 "
                                                     "are allowed", bins=200000, max_bins=100000, minimum="0.02")
    response = client.get("/api/volume_profile?symbol=BTCUSDT&tick_size=0.00000001")
    assert response.status_code == 400
    assert response.get_json()["error"]["details"] == {"field": "tick_size", "bins": 200000, "max_bins": 100000,
                                                       "minimum": "0.02"}


def test_a_stuck_query_actor_is_a_503(client, standin):
    standin.analysis = Unavailable("query did not answer within 30s", actor="query")
    response = client.get("/api/market_anomalies?symbol=BTCUSDT")
    assert response.status_code == 503
    assert response.get_json()["error"] == {"code": "unavailable", "message": "query did not answer within 30s",
                                            "details": {"actor": "query"}}

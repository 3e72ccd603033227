"""The tools' table: the seeds' names, one API path each, input schemas that are the parameter table's, and
arguments checked with the API's own parser and messages."""

from __future__ import annotations

import pytest

from tests.mcp.cases import bad_arguments
from tradeactors import parameters
from tradeactors.errors import InvalidParameter
from tradeactors.mcp import catalog
from tradeactors.mcp.catalog import TOOLS

SEED_NAMES = {"get_volume_profile": "/api/volume_profile", "get_liquidity_vacuums": "/api/liquidity_vacuums",
              "get_order_flow": "/api/order_flow", "get_microstructure_health": "/api/microstructure_health",
              "detect_market_anomalies": "/api/market_anomalies"}


def by_name(name):
    return next(tool for tool in TOOLS if tool.name == name)


def test_the_tools_are_the_seeds_five_plus_trades_orderbook_and_collection_status():
    assert {tool.name: tool.path for tool in TOOLS} == {
        **SEED_NAMES, "get_trades": "/api/trades", "get_orderbook": "/api/orderbook/l2",
        "get_collection_status": None}


def test_every_input_schema_is_the_parameter_table_of_its_api_path():
    for tool in TOOLS:
        schema = tool.input_schema()
        table = parameters.ENDPOINTS.get(tool.path, ())
        assert [p.name for p in tool.parameters] == [p.name for p in table], tool.name
        assert list(schema["properties"]) == [p.name for p in table]
        for p in table:
            prop = dict(schema["properties"][p.name])
            description = prop.pop("description")
            assert prop == p.schema(), (tool.name, p.name)
            assert description.startswith(p.description), (tool.name, p.name)
        assert schema["required"] == [p.name for p in table if p.required]
        assert schema["type"] == "object" and schema["additionalProperties"] is False


def test_each_parameter_description_gives_its_range_and_default():
    props = by_name("get_volume_profile").input_schema()["properties"]
    assert props["duration_hours"]["description"].endswith("an integer in 1..168; default 24")
    assert props["value_area_pct"]["description"].endswith("a number in (0, 1]; default 0.7")
    assert props["tick_size"]["description"].endswith("optional")
    assert props["symbol"]["description"].endswith("e.g. BTCUSDT; required")
    assert "a number in (0, 1); default 0.2" in by_name("get_liquidity_vacuums").input_schema()["properties"][
        "threshold_ratio"]["description"]


def test_every_tool_has_a_description_an_assistant_can_act_on():
    for tool in TOOLS:
        assert len(tool.description) > 150, tool.name
    for name in ("get_volume_profile", "get_liquidity_vacuums", "get_order_flow", "get_microstructure_health"):
        assert "collection is in progress" in by_name(name).description


@pytest.mark.parametrize("case", bad_arguments(), ids=str)
def test_every_bad_argument_raises_the_apis_error_naming_the_field_and_its_range(case):
    with pytest.raises(InvalidParameter) as info:
        case.tool.query(case.arguments)
    assert info.value.field == case.field
    assert info.value.message.startswith(f"{case.field}: ") and case.expect in info.value.message


def test_good_arguments_become_the_apis_query_string():
    assert by_name("get_volume_profile").query({"symbol": " btcusdt ", "duration_hours": 24.0, "tick_size": 0.5,
                                                "value_area_pct": 1e-05}) == {
        "symbol": "BTCUSDT", "duration_hours": "24", "tick_size": "0.5", "value_area_pct": "0.00001"}
    assert by_name("get_trades").query({"symbol": "ETHUSDT", "start": 5, "end": 9, "cursor": "7:8", "limit": None}) \
        == {"symbol": "ETHUSDT", "start": "5", "end": "9", "cursor": "7:8"}
    assert by_name("get_collection_status").query(None) == {}


def test_analytics_check_their_own_parameters_before_the_symbol_as_the_api_does():
    with pytest.raises(InvalidParameter) as info:
        by_name("get_order_flow").query({"symbol": "b", "depth_levels": 0})
    assert info.value.field == "depth_levels"
    with pytest.raises(InvalidParameter) as info:
        by_name("get_orderbook").query({"symbol": "b", "depth": 0})
    assert info.value.field == "symbol"


def test_an_analytics_tool_added_to_the_table_without_a_description_fails_at_import(monkeypatch):
    monkeypatch.setitem(parameters.TOOLS, "new_tool", ())
    with pytest.raises(RuntimeError, match="new_tool"):
        catalog._tools()

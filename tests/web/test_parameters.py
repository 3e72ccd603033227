"""The parameter tables (``tradeactors.parameters``) that the views parse with and the OpenAPI document shows:
the analytics tools' ranges and defaults as the API promises them, and the parsing rules no view repeats."""

from __future__ import annotations

import pytest

from tradeactors import parameters, tools
from tradeactors.errors import InvalidParameter, UnknownSymbol
from tradeactors.parameters import Parameter

# (low, high, low_open, high_open, default) per analytics parameter: the API's promise, stated a second time on
# purpose so that a change to the table is a decision a test notices.
PROMISED = {
    "duration_hours": (1, 168, False, False, 24),
    "tick_size": (None, None, False, False, None),
    "value_area_pct": (0, 1, True, False, 0.70),
    "threshold_ratio": (0, 1, True, True, 0.20),
    "window_duration_secs": (10, 300, False, False, 60),
    "depth_levels": (1, 20, False, False, 20),
    "baseline_minutes": (5, 1440, False, False, 60),
}
TOOL_PARAMETERS = {
    "volume_profile": ["duration_hours", "tick_size", "value_area_pct"],
    "liquidity_vacuums": ["duration_hours", "tick_size", "threshold_ratio"],
    "order_flow": ["window_duration_secs", "depth_levels"],
    "microstructure_health": ["window_duration_secs", "baseline_minutes"],
    "market_anomalies": ["window_duration_secs", "baseline_minutes"],
}


def test_the_five_tools_take_the_promised_parameters_each_defined_once():
    assert {tool: [p.name for p in ps] for tool, ps in parameters.TOOLS.items()} == TOOL_PARAMETERS
    by_name: dict[str, Parameter] = {}
    for ps in parameters.TOOLS.values():
        for p in ps:
            assert by_name.setdefault(p.name, p) is p, f"{p.name} is defined twice"
            assert (p.low, p.high, p.low_open, p.high_open, p.default) == PROMISED[p.name], p.name
            assert not p.required
    assert set(tools.TOOLS) == set(parameters.TOOLS), "a tool without its parameters, or the reverse"


def test_every_analytics_path_takes_the_symbol_first_then_the_tool_parameters():
    for tool, ps in parameters.TOOLS.items():
        assert parameters.ENDPOINTS[f"/api/{tool}"] == (parameters.SYMBOL, *ps)


def test_absent_or_empty_parameters_take_their_defaults():
    values = parameters.parse(parameters.TOOLS["volume_profile"], {"tick_size": ""})
    assert values == {"duration_hours": 24, "tick_size": None, "value_area_pct": 0.70}
    assert parameters.defaults(parameters.TOOLS["market_anomalies"]) == {"window_duration_secs": 60,
                                                                         "baseline_minutes": 60}


@pytest.mark.parametrize("raw,value", [("1", 1), ("+5", 5), (" 168 ", 168), ("0024", 24)])
def test_integers_in_range_are_accepted_as_written(raw, value):
    assert parameters.DURATION_HOURS.parse(raw) == value


@pytest.mark.parametrize("raw,message", [
    ("0", "duration_hours: must be in 1..168, got 0"),
    ("169", "duration_hours: must be in 1..168, got 169"),
    ("1.5", "duration_hours: must be an integer in 1..168"),
    (" ", "duration_hours: must be an integer in 1..168"),  # only absent or empty takes the default
    ("1e3", "duration_hours: must be an integer in 1..168"),
])
def test_integers_out_of_range_or_malformed_name_the_field_and_the_range(raw, message):
    with pytest.raises(InvalidParameter) as info:
        parameters.DURATION_HOURS.parse(raw)
    assert info.value.message == message
    assert info.value.details == {"field": "duration_hours", "minimum": 1, "maximum": 168}


def test_a_missing_required_integer_says_it_is_required():
    start = parameters.TRADES[1]
    with pytest.raises(InvalidParameter) as info:
        start.parse(None)
    assert info.value.message == f"start: is required (an integer in 0..{parameters.MAX_MS})"


@pytest.mark.parametrize("param,raw,ok", [
    (parameters.VALUE_AREA_PCT, "1", True), (parameters.VALUE_AREA_PCT, "0", False),
    (parameters.VALUE_AREA_PCT, ".000001", True), (parameters.VALUE_AREA_PCT, "1.01", False),
    (parameters.THRESHOLD_RATIO, "1", False), (parameters.THRESHOLD_RATIO, "0", False),
    (parameters.THRESHOLD_RATIO, "0.999", True), (parameters.THRESHOLD_RATIO, "nan", False),
])
def test_open_and_closed_ends_of_number_ranges(param, raw, ok):
    if ok:
        assert param.parse(raw) == float(raw)
        return
    with pytest.raises(InvalidParameter) as info:
        param.parse(raw)
    assert info.value.details == {"field": param.name, "minimum": 0, "maximum": 1}
    bounds = "(0, 1]" if param is parameters.VALUE_AREA_PCT else "(0, 1)"
    assert info.value.message.startswith(f"{param.name}: must be a number in {bounds}")


@pytest.mark.parametrize("raw,ok", [("0.5", True), (" 2 ", True), ("1.", True), ("0", False), ("-1", False),
                                    ("+1", False), ("abc", False), ("1e-3", False)])
def test_a_decimal_is_a_positive_number_kept_as_its_text(raw, ok):
    if ok:
        assert parameters.TICK_SIZE.parse(raw) == raw.strip()
    else:
        with pytest.raises(InvalidParameter, match=r"^tick_size: must be a decimal number > 0 \(e\.g\. 0\.5\)$"):
            parameters.TICK_SIZE.parse(raw)


@pytest.mark.parametrize("raw,value", [(None, None), ("", None), ("1700000000000:42", (1700000000000, 42)),
                                       ("1:2\n", (1, 2))])
def test_a_cursor_is_the_time_and_id_of_the_previous_page(raw, value):
    assert parameters.TRADES[-1].parse(raw) == value


@pytest.mark.parametrize("raw", ["xyz", "1:", ":1", "1:2:3", "12345678901234:1", " 1:2"])
def test_anything_else_is_not_a_cursor(raw):
    with pytest.raises(InvalidParameter, match=r"^cursor: must be the next_cursor of a previous page \(T:a\)$"):
        parameters.TRADES[-1].parse(raw)


def test_a_symbol_is_trimmed_upper_cased_and_must_be_collected():
    assert parameters.SYMBOL.parse(" btcusdt ", ["BTCUSDT"]) == "BTCUSDT"
    with pytest.raises(InvalidParameter, match=r"^symbol: is required"):
        parameters.SYMBOL.parse("  ", ["BTCUSDT"])
    with pytest.raises(InvalidParameter, match=r"^symbol: must be 2-20 letters or digits"):
        parameters.SYMBOL.parse("BTC-USDT", ["BTCUSDT"])
    with pytest.raises(UnknownSymbol) as info:
        parameters.SYMBOL.parse("dogeusdt", ["BTCUSDT", "ETHUSDT"])
    assert info.value.details == {"symbol": "DOGEUSDT", "collected": ["BTCUSDT", "ETHUSDT"]}


def test_the_first_faulty_parameter_in_table_order_is_the_one_reported():
    args = {"symbol": "DOGEUSDT", "start": "x", "end": "-1"}
    with pytest.raises(UnknownSymbol):
        parameters.parse(parameters.TRADES, args, ["BTCUSDT"])
    with pytest.raises(InvalidParameter) as info:
        parameters.parse(parameters.TRADES, {**args, "symbol": "BTCUSDT"}, ["BTCUSDT"])
    assert info.value.field == "start"


def test_schemas_are_json_schema_with_the_table_bounds():
    assert parameters.VALUE_AREA_PCT.schema() == {"type": "number", "exclusiveMinimum": 0, "maximum": 1,
                                                  "default": 0.70}
    assert parameters.THRESHOLD_RATIO.schema() == {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1,
                                                   "default": 0.20}
    assert parameters.DEPTH_LEVELS.schema() == {"type": "integer", "minimum": 1, "maximum": 20, "default": 20}
    assert parameters.TRADES[-1].schema() == {"type": "string", "pattern": "^[0-9]{1,13}:[0-9]{1,19}$"}


def test_a_parameter_of_an_unknown_kind_or_an_unbounded_number_is_refused_at_definition():
    with pytest.raises(ValueError):
        Parameter("x", "string", "no such kind")
    with pytest.raises(ValueError):
        Parameter("x", "int", "no bounds")


# --- the kinds of /api/status and /api/dashboard: a list of symbols, a choice, a search -----------------------------

SYMBOLS = Parameter("symbols", "symbols", "only these")
STATE = Parameter("state", "choice", "one of", choices=("attention", "connected"))
SEARCH = Parameter("q", "search", "a piece", default="")


def test_a_symbols_list_is_trimmed_upper_cased_and_deduplicated_in_order():
    assert SYMBOLS.parse(" ethusdt, BTCUSDT ,,ETHUSDT", ["BTCUSDT", "ETHUSDT"]) == ("ETHUSDT", "BTCUSDT")
    assert SYMBOLS.parse(None) is None and SYMBOLS.parse(" ") is None


@pytest.mark.parametrize("raw,message", [
    ("BTC-USDT", "symbols: must be comma-separated symbols of 2-20 letters or digits (e.g. BTCUSDT,ETHUSDT)"),
    ("B", "symbols: must be comma-separated symbols of 2-20 letters or digits (e.g. BTCUSDT,ETHUSDT)"),
    (",".join(["BTCUSDT"] * 101), "symbols: lists at most 100 symbols (page through more)"),
])
def test_a_bad_symbols_list_names_the_field(raw, message):
    with pytest.raises(InvalidParameter) as caught:
        SYMBOLS.parse(raw, ["BTCUSDT"])
    assert caught.value.message == message


def test_a_symbols_list_with_one_not_collected_is_unknown_symbol():
    with pytest.raises(UnknownSymbol):
        SYMBOLS.parse("BTCUSDT,DOGEUSDT", ["BTCUSDT"])


def test_a_choice_is_any_case_and_refuses_anything_else_listing_the_choices():
    assert STATE.parse(" Attention ") == "attention" and STATE.parse("") is None
    with pytest.raises(InvalidParameter) as caught:
        STATE.parse("sleepy")
    assert caught.value.details == {"field": "state", "choices": ["attention", "connected"]}
    assert STATE.schema() == {"type": "string", "enum": ["attention", "connected"]}
    with pytest.raises(ValueError):
        Parameter("x", "choice", "no choices")
    with pytest.raises(ValueError):
        Parameter("x", "int", "choices on a number", low=0, high=1, choices=("a",))


def test_a_search_is_upper_cased_and_only_letters_or_digits():
    assert SEARCH.parse(" btc ") == "BTC" and SEARCH.parse(None) == "" and SEARCH.parse("") == ""
    for raw in ("BTC-", "A" * 21, "%"):
        with pytest.raises(InvalidParameter):
            SEARCH.parse(raw)

"""``tradeactors mcp`` as assistants use it: the SDK's own client, over stdio (a spawned process) and over
streamable HTTP (``--listen``), against one live service on the TLS simulator, shared by the module.

The simulator trades BTCUSDT fast until the service holds more than 1000 of its trades, then stops its trades
(its book keeps moving): the trade-based answers no longer change, so the MCP result must equal the API's
answer exactly. ETHUSDT trickles at 2 trades a second, so its history stays short for minutes: the fresh-service
case of the seeds' user story 1, scenario 3. The service wants a bearer token, which the MCP processes pass on.
"""

from __future__ import annotations

import json
import re
import socket

import anyio
import pykka
import pytest
import requests

from tests.conftest import make_simulator, service_config
from tests.helpers import Process, wait_for
from tests.mcp.cases import bad_arguments
from tests.mcp.clients import TOKEN, environment, http_session, stdio_session, structured, text_of
from tradeactors.mcp.catalog import TOOLS
from tradeactors.service import Service

NAMES = [tool.name for tool in TOOLS]


class Live:
    def __init__(self, sim, service):
        self.sim, self.service = sim, service
        self.api = service.http.url
        self.hostport = self.api.split("//", 1)[1]
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {TOKEN}"

    def get(self, path, **params):
        response = self.http.get(f"{self.api}{path}", params=params, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def stored(self, symbol) -> list:
        return self.get("/api/status")["storage"]["stored_ids"][symbol]

    def args(self, *more) -> list[str]:
        return ["--http", self.hostport, *more]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    sim = make_simulator(rate=2.0)  # ETHUSDT trickles for the whole module
    sim.set_regime("BTCUSDT", rate=150)
    service = Service(service_config(tmp_path_factory.mktemp("mcp"), sim, api_token=TOKEN))
    try:
        service.start()
        live = Live(sim, service)

        def count(symbol):
            return sum(hi - lo + 1 for lo, hi in live.stored(symbol))

        wait_for(lambda: count("BTCUSDT") >= 1100 and count("ETHUSDT") >= 2, timeout=60,
                 message="1100 BTCUSDT and 2 ETHUSDT trades stored")
        sim.set_regime("BTCUSDT", rate=0)
        wait_for(lambda: live.stored("BTCUSDT")[-1][1] == int(sim.published_ids("BTCUSDT")[-1]), timeout=20,
                 message="every published BTCUSDT trade stored")
        yield live
    finally:
        if service.db is not None and not service.db.closed:
            service.stop()
        sim.stop()
        pykka.ActorRegistry.stop_all(block=True, timeout=5)


@pytest.fixture(scope="module")
def http_mcp(live):
    """``tradeactors mcp --listen 127.0.0.1:0`` for the live service: its URL once it serves."""
    process = Process("mcp", *live.args("--listen", "127.0.0.1:0"), env=environment(TRADEACTORS_API_TOKEN=TOKEN))
    try:
        yield process.find(r"serving MCP over streamable HTTP at (\S+) ").group(1)
        code, _seconds = process.terminate()
        assert code == 0, "".join(process.lines[-20:])
    finally:
        process.kill()


def run(scenario, *args):
    """Run an async scenario (a client session) to completion."""
    return anyio.run(scenario, *args)


def without(body, key):
    """``body`` without ``key`` at any depth (a detection time is the clock's, not the data's)."""
    if isinstance(body, dict):
        return {k: without(v, key) for k, v in body.items() if k != key}
    if isinstance(body, list):
        return [without(v, key) for v in body]
    return body


async def every_tool_answers_as_the_api_does(session, live):
    """Call each tool; the answers that depend only on stored trades equal the API's exactly."""
    first, last = live.stored("BTCUSDT")[0][0], live.stored("BTCUSDT")[-1][1]
    status = structured(await session.call_tool("get_collection_status", {}))
    btc = status["symbols"]["BTCUSDT"]
    assert status["healthy"] is True and btc["stream_state"] == "connected" and btc["book_state"] == "synced"
    assert btc["trades_stored"] == last - first + 1 >= 1100
    first_trade = live.get("/api/trades", symbol="BTCUSDT", start=btc["first_trade_time_ms"],
                           end=btc["last_trade_time_ms"], limit=1)["trades"][0]
    assert first_trade["a"] == first and btc["first_trade_time_ms"] == first_trade["T"]
    assert status["summary"][0].startswith(f"BTCUSDT: stream connected, {last - first + 1} trades stored since ")
    assert status["symbols"]["ETHUSDT"]["trades_stored"] >= 2

    for tool, path, arguments in [("get_volume_profile", "/api/volume_profile", {"duration_hours": 1}),
                                  ("get_liquidity_vacuums", "/api/liquidity_vacuums", {"threshold_ratio": 0.5})]:
        answer = structured(await session.call_tool(tool, {"symbol": "btcusdt", **arguments}))
        expected = live.get(path, symbol="BTCUSDT", **arguments)
        assert without(answer, "detection_timestamp") == without(expected, "detection_timestamp"), tool
    assert structured(await session.call_tool("get_volume_profile", {"symbol": "BTCUSDT"}))["trade_count"] == (
        last - first + 1)

    for tool, path in [("get_order_flow", "/api/order_flow"), ("get_microstructure_health",
                                                              "/api/microstructure_health"),
                       ("detect_market_anomalies", "/api/market_anomalies")]:
        answer = structured(await session.call_tool(tool, {"symbol": "BTCUSDT", "window_duration_secs": 30}))
        assert answer.keys() == live.get(path, symbol="BTCUSDT", window_duration_secs=30).keys(), tool
    assert structured(await session.call_tool("get_order_flow", {"symbol": "BTCUSDT"}))["snapshot_count"] >= 2

    query = {"symbol": "BTCUSDT", "start": btc["first_trade_time_ms"], "end": btc["last_trade_time_ms"], "limit": 500}
    page = structured(await session.call_tool("get_trades", query))
    assert page == live.get("/api/trades", **query) and page["count"] == 500
    following = structured(await session.call_tool("get_trades", {**query, "cursor": page["next_cursor"]}))
    assert following == live.get("/api/trades", **query, cursor=page["next_cursor"])
    assert following["trades"][0]["a"] == page["trades"][-1]["a"] + 1

    book = structured(await session.call_tool("get_orderbook", {"symbol": "ETHUSDT", "depth": 5}))
    assert book["symbol"] == "ETHUSDT" and book["sync_state"] == "synced" and len(book["bids"]) == 5
    assert book.keys() == live.get("/api/orderbook/l2", symbol="ETHUSDT", depth=5).keys()


async def short_history_is_collection_in_progress(session, symbol="ETHUSDT"):
    result = await session.call_tool("get_volume_profile", {"symbol": symbol})
    assert result.is_error, text_of(result)
    assert re.fullmatch(r"Data collection is in progress for ETHUSDT: this analysis needs at least 1000 aggregate "
                        r"trades in its window and \d+ are stored so far \(collecting since \S+Z\)\. At the "
                        r"observed rate that is about \d+ (seconds|minutes) until enough; please try again then\.",
                        text_of(result)), text_of(result)
    details = result.structured_content["error"]["details"]
    assert details["required"] == 1000 and 2 <= details["available"] < 1000 and details["estimated_wait_seconds"] > 0


def check_listing(listing, prefix=""):
    assert [tool.name for tool in listing.tools] == [prefix + name for name in NAMES]
    for listed, tool in zip(listing.tools, TOOLS):
        assert listed.input_schema == tool.input_schema() and listed.description == tool.description
        assert listed.annotations.read_only_hint is True


def test_stdio_lists_every_tool_with_the_schema_of_the_parameter_table(live):
    async def scenario():
        async with stdio_session(*live.args(), env=environment(TRADEACTORS_API_TOKEN=TOKEN)) as session:
            check_listing(await session.list_tools())

    run(scenario)


def test_the_tool_prefix_renames_every_tool_for_the_seeds_prompts(live):
    async def scenario():
        env = environment(TRADEACTORS_API_TOKEN=TOKEN)
        async with stdio_session(*live.args("--tool-prefix", "binance_"), env=env) as session:
            check_listing(await session.list_tools(), "binance_")
            book = structured(await session.call_tool("binance_get_orderbook", {"symbol": "BTCUSDT", "depth": 1}))
            assert len(book["asks"]) == 1
            unprefixed = await session.call_tool("get_orderbook", {"symbol": "BTCUSDT"})
            assert unprefixed.is_error and "binance_get_orderbook" in text_of(unprefixed)

    run(scenario)


def test_every_tool_answers_over_stdio_as_the_api_does(live):
    async def scenario():
        async with stdio_session(*live.args(), env=environment(TRADEACTORS_API_TOKEN=TOKEN)) as session:
            await every_tool_answers_as_the_api_does(session, live)

    run(scenario)


def test_a_short_history_answers_that_collection_is_in_progress_and_how_long_to_wait(live):
    async def scenario():
        async with stdio_session(*live.args(), env=environment(TRADEACTORS_API_TOKEN=TOKEN)) as session:
            await short_history_is_collection_in_progress(session)
            vacuums = await session.call_tool("get_liquidity_vacuums", {"symbol": "ETHUSDT"})
            assert vacuums.is_error and "Data collection is in progress for ETHUSDT" in text_of(vacuums)

    run(scenario)


def test_every_bad_argument_of_every_tool_is_a_tool_error_naming_the_field_and_its_range(live):
    cases = bad_arguments()

    async def scenario():
        async with stdio_session(*live.args(), env=environment(TRADEACTORS_API_TOKEN=TOKEN)) as session:
            for case in cases:
                result = await session.call_tool(case.tool.name, case.arguments)
                assert result.is_error, case
                text = text_of(result)
                assert text.startswith(f"Invalid argument for {case.tool.name}: {case.field}: "), (case, text)
                assert case.expect in text, (case, text)
                assert result.structured_content["error"]["details"]["field"] == case.field, case
            # Checks only the service can make come back the same way.
            backwards = await session.call_tool("get_trades", {"symbol": "BTCUSDT", "start": 9, "end": 5})
            assert text_of(backwards) == ("Invalid argument for get_trades: end: must not be before start. Correct "
                                          "it and call get_trades again.")
            unknown = await session.call_tool("get_order_flow", {"symbol": "xrpusdt"})
            assert text_of(unknown) == ("XRPUSDT is not collected by this service; the symbols it collects are: "
                                        "BTCUSDT, ETHUSDT.")

    assert len(cases) > 100
    run(scenario)


def test_a_service_with_a_token_and_an_mcp_without_it_or_with_another_is_a_clear_tool_error(live):
    async def scenario(env, words):
        async with stdio_session(*live.args(), env=env) as session:
            for name, arguments in [("get_collection_status", {}), ("get_order_flow", {"symbol": "BTCUSDT"})]:
                result = await session.call_tool(name, arguments)
                assert result.is_error and words in text_of(result), text_of(result)
                assert result.structured_content["error"]["code"] == "unauthorized"

    run(scenario, environment(), "requires a bearer token: set api_token for tradeactors mcp (TRADEACTORS_API_TOKEN")
    run(scenario, environment(TRADEACTORS_API_TOKEN="another-token-0123456789"), "tradeactors mcp sends was refused")


def test_every_tool_answers_over_streamable_http(live, http_mcp):
    async def scenario():
        async with http_session(http_mcp) as session:
            check_listing(await session.list_tools())
            await every_tool_answers_as_the_api_does(session, live)
            await short_history_is_collection_in_progress(session)
            bad = await session.call_tool("get_order_flow", {"symbol": "BTCUSDT", "window_duration_secs": 301})
            assert bad.is_error and text_of(bad).endswith("window_duration_secs: must be in 10..300, got 301. Correct "
                                                          "it and call get_order_flow again.")

    run(scenario)


INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def test_the_http_transport_answers_401_without_the_token_and_serves_with_it(http_mcp):
    for auth in [None, f"Bearer {TOKEN}x", TOKEN, f"Basic {TOKEN}", "Bearer "]:
        headers = {**MCP_HEADERS, **({"Authorization": auth} if auth else {})}
        response = requests.post(http_mcp, data=json.dumps(INITIALIZE), headers=headers, timeout=10)
        assert response.status_code == 401, auth
        assert response.json() == {"error": {"code": "unauthorized", "message": "missing or invalid bearer token",
                                             "details": {}}}
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    good = requests.post(http_mcp, data=json.dumps(INITIALIZE), headers={**MCP_HEADERS, "Authorization":
                                                                        f"Bearer {TOKEN}"}, timeout=10)
    assert good.status_code == 200 and "tradeactors" in good.text


def test_a_service_that_is_down_is_a_clear_tool_error_and_bad_arguments_are_still_caught():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def scenario():
        async with stdio_session("--http", f"127.0.0.1:{port}", "--timeout", "5") as session:
            for name, arguments in [("get_collection_status", {}), ("get_orderbook", {"symbol": "BTCUSDT"})]:
                result = await session.call_tool(name, arguments)
                assert result.is_error, text_of(result)
                assert text_of(result).startswith(f"The tradeactors service at http://127.0.0.1:{port} is not "
                                                  "reachable ("), text_of(result)
                assert "Is it running?" in text_of(result)
                assert result.structured_content["error"]["code"] == "service_unreachable"
            bad = await session.call_tool("get_volume_profile", {"symbol": "BTCUSDT", "duration_hours": 169})
            assert text_of(bad) == ("Invalid argument for get_volume_profile: duration_hours: must be in 1..168, got "
                                    "169. Correct it and call get_volume_profile again.")

    run(scenario)

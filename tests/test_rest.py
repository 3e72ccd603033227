"""The weight ledger (pure, with a fake clock) and the REST client against the simulator."""

import threading

import pytest

from tests.helpers import FakeClock, wait_for
from tradeactors.rest import RestClient, RestError, WeightLedger, depth_weight


def test_ledger_spends_at_most_half_the_budget_per_minute():
    clock = FakeClock()
    ledger = WeightLedger(6000, clock=clock)
    spent = 0
    while ledger.reserve(4) == 0:
        spent += 4
    assert spent == 3000
    wait = ledger.reserve(4)
    assert 0 < wait <= 60 - (clock.now % 60) + 0.02
    clock.now += wait
    assert ledger.reserve(4) == 0  # a new minute


def test_ledger_takes_the_servers_count_when_it_is_higher():
    clock = FakeClock()
    ledger = WeightLedger(6000, clock=clock)
    ledger.observe(2990)
    assert ledger.reserve(4) == 0 and ledger.reserve(10) > 0


def test_retry_after_holds_every_request():
    clock = FakeClock()
    ledger = WeightLedger(6000, clock=clock)
    ledger.block(30)
    assert ledger.reserve(1) == pytest.approx(30)
    clock.now += 30
    assert ledger.reserve(1) == 0


def test_acquire_returns_false_when_stopped_while_waiting():
    ledger = WeightLedger(10)  # limit 5
    assert ledger.acquire(5)
    stop = threading.Event()
    stop.set()
    assert ledger.acquire(5, stop) is False


def test_depth_weights_follow_binance():
    assert [depth_weight(n) for n in (1, 100, 101, 500, 1000, 5000)] == [5, 5, 25, 25, 50, 250]


def test_client_fetches_agg_trades_and_reads_the_weight_header(sim):
    ledger = WeightLedger(6000)
    client = RestClient(sim.rest_url, ledger, ssl_context=sim.client_ssl_context())
    wait_for(lambda: len(sim.published_ids("BTCUSDT")) >= 5, message="5 published trades")
    first = int(sim.published_ids("BTCUSDT")[0])
    trades = client.agg_trades("BTCUSDT", first, limit=5)
    assert [t.a for t in trades] == list(range(first, first + 5))
    assert ledger.used >= 4


def test_client_turns_429_into_a_ledger_block(sim):
    ledger = WeightLedger(6000)
    client = RestClient(sim.rest_url, ledger, ssl_context=sim.client_ssl_context())
    sim.rest_fail(429, 5)
    with pytest.raises(RestError) as info:
        client.agg_trades("BTCUSDT", 0, limit=5)
    assert info.value.status == 429 and info.value.retryable
    assert ledger.reserve(1) > 0


def test_client_errors_are_retryable_only_when_trying_again_can_help(sim):
    client = RestClient(sim.rest_url, WeightLedger(6000), ssl_context=sim.client_ssl_context())
    with pytest.raises(RestError) as info:
        client.agg_trades("NOSUCHSYM", 0)
    assert info.value.status == 400 and not info.value.retryable
    sim.rest_fail(503, 5)
    with pytest.raises(RestError) as info:
        client.agg_trades("BTCUSDT", 0)
    assert info.value.status == 503 and info.value.retryable
    unreachable = RestClient("http://127.0.0.1:9", WeightLedger(6000), timeout=2)
    with pytest.raises(RestError) as info:
        unreachable.agg_trades("BTCUSDT", 0)
    assert info.value.retryable


@pytest.mark.parametrize("kind,says", [
    ("truncate", "IncompleteRead"),      # Content-Length larger than the body, then the connection closes
    ("reset", "RemoteDisconnected"),     # TCP reset with no answer (over TLS Python sees an EOF)
    ("nonjson", "not JSON"),             # a proxy's HTML error page with status 200
])
def test_every_broken_answer_is_a_retryable_rest_error_and_the_next_request_works(sim, kind, says):
    client = RestClient(sim.rest_url, WeightLedger(6000), ssl_context=sim.client_ssl_context())
    sim.rest_fault(kind, count=1, path="/api/v3/depth")
    with pytest.raises(RestError) as info:
        client.depth("BTCUSDT", 100)
    assert info.value.retryable and says in str(info.value)
    last_update_id, bids, asks = client.depth("BTCUSDT", 100)
    assert last_update_id > 0 and bids and asks


def test_an_untrusted_certificate_is_refused(sim):
    from tradeactors import tls

    client = RestClient(sim.rest_url, WeightLedger(6000), ssl_context=tls.client_context(None), timeout=5)
    with pytest.raises(RestError) as info:
        client.depth("BTCUSDT", 5)
    assert "CERTIFICATE_VERIFY_FAILED" in str(info.value) and info.value.retryable

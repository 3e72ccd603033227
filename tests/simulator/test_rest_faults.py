"""REST faults below HTTP status codes (truncate, reset, nonjson), as a plain urllib / http.client sees them."""
import http.client
import json
import urllib.request

import pytest
import requests

from tradeactors.simulator import SimulatorClient
from tradeactors.simulator.client import SimulatorError

from .conftest import BOTH, rest_get, verify

DEPTH = "/api/v3/depth?symbol=BTCUSDT&limit=5"


def fetch(sim, path: str):
    """(status, content type, body) with urllib: the exception a client without retries would see escapes."""
    ctx = sim.client_ssl_context() if sim.ca_file else None
    with urllib.request.urlopen(sim.rest_url + path, timeout=5, context=ctx) as resp:
        return resp.status, resp.headers["Content-Type"], resp.read()


def answered_normally(sim, path=DEPTH) -> bool:
    status, ctype, body = fetch(sim, path)
    return status == 200 and ctype == "application/json" and isinstance(json.loads(body), (dict, list))


@BOTH
def test_truncate_announces_more_than_it_sends_then_closes(sim, tls):
    sim.rest_fault("truncate", count=2, path="/api/v3/depth")
    assert answered_normally(sim, "/api/v3/ping")  # another path is not counted
    for _ in range(2):
        with pytest.raises(http.client.IncompleteRead) as err:
            fetch(sim, DEPTH)
        assert type(err.value) is http.client.IncompleteRead
        assert 0 < len(err.value.partial) < len(err.value.partial) + err.value.expected
        assert err.value.partial.startswith(b'{"lastUpdateId":')
    assert answered_normally(sim)


@BOTH
def test_reset_sends_nothing_and_resets_the_connection(sim, tls):
    sim.rest_fault("reset", count=2, path="/api/v3/depth")
    for _ in range(2):
        with pytest.raises(ConnectionResetError) as err:
            fetch(sim, DEPTH)
        # The RST is on the wire either way; Python's ssl module reports an RST under TLS as an EOF without
        # close_notify, which http.client then calls RemoteDisconnected (a ConnectionResetError too).
        assert type(err.value) is (http.client.RemoteDisconnected if tls else ConnectionResetError)
    assert answered_normally(sim)


@BOTH
def test_nonjson_is_a_200_html_page(sim, tls):
    sim.rest_fault("nonjson", count=2, path="/api/v3/depth")
    for _ in range(2):
        status, ctype, body = fetch(sim, DEPTH)
        assert (status, ctype) == (200, "text/html")
        assert body.startswith(b"<html>") and b"502 Bad Gateway" in body
        with pytest.raises(ValueError):
            json.loads(body)
    assert answered_normally(sim)


@BOTH
def test_without_a_path_any_rest_request_counts_but_sim_paths_never_do(sim, tls):
    sim.rest_fault("reset")
    client = SimulatorClient(sim.rest_url, ca_file=sim.ca_file)
    assert client.state()["rest_faults"] == [{"kind": "reset", "remaining": 1, "path": None}]
    with pytest.raises(ConnectionResetError):
        fetch(sim, "/api/v3/time")
    assert client.state()["rest_faults"] == []
    assert answered_normally(sim, "/api/v3/time")


def test_faults_queue_in_order_and_each_request_takes_the_first_that_matches(sim):
    sim.rest_fault("nonjson", path="/api/v3/aggTrades")
    sim.rest_fault("truncate", count=1)
    assert fetch(sim, "/api/v3/aggTrades?symbol=BTCUSDT")[1] == "text/html"
    with pytest.raises(http.client.IncompleteRead):
        fetch(sim, "/api/v3/aggTrades?symbol=BTCUSDT")
    assert answered_normally(sim, "/api/v3/aggTrades?symbol=BTCUSDT")


def test_the_control_api_sets_rest_faults_and_names_the_kinds_it_knows(sim):
    client = SimulatorClient(sim.rest_url, ca_file=sim.ca_file)
    client.rest_fault("truncate", count=2, path="/api/v3/depth")
    assert client.state()["rest_faults"] == [{"kind": "truncate", "remaining": 2, "path": "/api/v3/depth"}]
    r = requests.post(sim.rest_url + "/_sim/fault/rest", params={"kind": "slow"}, timeout=5, verify=verify(sim))
    assert r.status_code == 400 and r.json()["ok"] is False
    assert all(kind in r.json()["error"] for kind in ("truncate", "reset", "nonjson"))
    with pytest.raises(SimulatorError, match="/api/"):
        client.rest_fault("reset", path="/_sim/state")
    with pytest.raises(SimulatorError, match="count"):
        client.rest_fault("reset", count=0)
    assert rest_get(sim, "/_sim/state").json()["rest_faults"][0]["remaining"] == 2


def test_in_process_calls_reject_bad_kinds_too(sim):
    with pytest.raises(ValueError, match="truncate, reset, nonjson"):
        sim.rest_fault("garbage")

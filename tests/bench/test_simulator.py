"""`tradeactors bench simulator` runs end to end and ends with its JSON line: its figures in plausible bands (a
busy 2-core machine, not the bar BENCHMARKS.md measures on an idle one)."""
import json
import os

import pytest

from tradeactors.bench import simulator as bench


def test_benchmark_prints_a_json_result_as_its_last_line(capsys):
    assert bench.run(["--seconds", "0.3"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    result = json.loads(last)
    assert result["bench"] == "simulator" and result["transport"] == "tls" and result["cpus"] == os.cpu_count()
    assert 0.3 <= result["seconds"] <= 1.5
    # Measured 25-30k frames/s for 0.3 s under load (bar 100k on an idle machine); a floor 25 times lower.
    assert result["frames"] >= 300 and result["frames_per_s"] >= 1000
    assert result["frames_per_s"] == pytest.approx(result["frames"] / result["seconds"], rel=0.02)
    assert result["websocket_client_frames"] >= 300 and result["websocket_client_frames_per_s"] >= 1000
    # One aggTrade frame is ~170 bytes on the wire.
    assert 100 <= result["bytes_per_s"] / result["frames_per_s"] <= 400
    # Each client received trades of its own (one after the other): the market made at least all of them.
    assert result["trades_generated"] >= result["frames"] + result["websocket_client_frames"]


def test_market_mode_measures_the_simulator_process_idle_steady_and_in_a_burst(capsys):
    argv = ["--market", "200", "--trade-rate", "100", "--depth-rate", "500", "--connections", "1",
            "--idle-seconds", "0.5", "--seconds", "1.5", "--burst-seconds", "0.5"]
    assert bench.run(argv) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["mode"] == "market" and result["symbols"] == 200 and result["streams"] == 400
    assert result["idle_trades_per_s"] == 0 and result["trades_per_s"] > 20 and result["diffs_per_s"] > 50
    assert result["burst_trades_per_s"] > result["trades_per_s"]
    assert 0 <= result["idle_cpu_user_pct"] <= result["cpu_user_pct"] + 5 and result["threads"] >= 1
    assert result["rss_mb"] > 20 and result["limit_violations"] == {
        "messages_per_second": 0, "streams_per_connection": 0, "url_too_long": 0, "message_too_big": 0,
        "connection_attempts": 0}

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

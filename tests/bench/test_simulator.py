"""`tradeactors bench simulator` runs end to end and ends with its JSON line (figures are not asserted here)."""
import json

from tradeactors.bench import simulator as bench


def test_benchmark_prints_a_json_result_as_its_last_line(capsys):
    assert bench.run(["--seconds", "0.3"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    result = json.loads(last)
    assert result["bench"] == "simulator" and result["frames"] > 0 and result["frames_per_s"] > 0

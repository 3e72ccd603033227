"""``tradeactors export`` on a database written by the service's own writer: every stored value back exactly
(a range whose scale changes is written at the widest, a batch boundary inside it changes nothing), empty
ranges, and bad arguments: exit 2, a message naming the option, nothing written."""

from __future__ import annotations

import os
from decimal import Decimal

import pyarrow.parquet as pq
import pytest

from tests.export.readers import READERS, side
from tests.helpers import BASE_T, run_cli
from tradeactors.export import cli, sources
from tradeactors.protocol import AggTrade
from tradeactors.storage import Database, TradeWriter

SYMBOL = "BTCUSDT"


def _trades() -> list[AggTrade]:
    """Three seconds at 8 decimals, then one at 2 (a scale change inside the range), then 8 again."""
    out = []
    for a in range(1, 601):
        digits = 2 if 300 < a <= 400 else 8
        price = f"{60000 + a % 13}.{a % 100:02d}" + "0" * (digits - 2)
        out.append(AggTrade(a, price, f"0.{a:03d}" + "0" * 5 if digits == 8 else f"{a}.50", a * 2, a * 2 + a % 3,
                            BASE_T + a * 10, a % 2 == 0))
    return out


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    db = Database(root / "analytics")
    writer = TradeWriter(db, [SYMBOL])
    trades = _trades()
    for i in range(0, len(trades), 40):
        writer.write(SYMBOL, trades[i:i + 40])
    db.close()
    return root


def expected(lo: int = 0, hi: int = 10**13) -> list[tuple]:
    return [(t.a, t.p, t.q, t.f, t.l, t.T, t.m, side(t.m)) for t in _trades() if lo <= t.T <= hi]


def widened(rows: list[tuple]) -> list[tuple]:
    """The rows with prices and quantities at 8 decimals, as a file at the range's widest scale holds them."""
    return [(a, format(Decimal(p).quantize(Decimal("1e-8")), "f"), format(Decimal(q).quantize(Decimal("1e-8")), "f"),
             *rest) for a, p, q, *rest in rows]


def export(data_dir, out, *extra: str, start=0, end=10**13 - 1) -> int:
    return cli.main(["--symbol", SYMBOL, "--start", str(start), "--end", str(end), "--out", str(out),
                     "--data-dir", str(data_dir), *extra])


@pytest.mark.parametrize("reader", sorted(READERS))
def test_a_range_whose_scale_changes_is_written_at_the_widest_exactly(data_dir, tmp_path, reader, monkeypatch):
    monkeypatch.setattr(sources, "BATCH_ROWS", 150)  # several batches, cut between seconds
    out = tmp_path / "t.parquet"
    assert export(data_dir, out) == 0
    assert READERS[reader](out) == widened(expected())
    meta = pq.ParquetFile(out).schema_arrow.metadata
    assert (meta[b"tradeactors.price_scale"], meta[b"tradeactors.quantity_scale"]) == (b"8", b"8")


def test_csv_keeps_the_strings_as_stored_and_iso_times_parse(data_dir, tmp_path):
    out = tmp_path / "t.csv"
    lo, hi = BASE_T + 2_500, BASE_T + 4_500
    assert export(data_dir, out, "--format", "csv", start=f"{lo}", end=f"{hi}") == 0
    lines = out.read_text().splitlines()[1:]
    got = [(int(a), p, q, int(f), int(last), int(ms), m == "true", s)
           for a, p, q, f, last, ms, _iso, m, s in (line.split(",") for line in lines)]
    assert got == expected(lo, hi)
    assert any(p.count(".") and len(p.split(".")[1]) == 2 for _a, p, *_ in got)  # the 2-decimal strings kept


def test_iso_times_with_and_without_a_zone_mean_the_same_instants(data_dir, tmp_path):
    iso = tmp_path / "iso.csv"
    ms = tmp_path / "ms.csv"
    start, end = "2024-08-08T23:54:16.5", "2024-08-09T01:54:18+02:00"  # BASE_T + 2.5 s .. BASE_T + 4 s
    assert export(data_dir, iso, "--format", "csv", start=start, end=end) == 0
    assert export(data_dir, ms, "--format", "csv", start=str(BASE_T + 2_500), end=str(BASE_T + 4_000)) == 0
    assert iso.read_text() == ms.read_text() and len(iso.read_text().splitlines()) > 100


def test_an_empty_range_is_a_valid_empty_file(data_dir, tmp_path):
    out = tmp_path / "empty.parquet"
    assert export(data_dir, out, start=1, end=2) == 0
    assert pq.read_table(out).num_rows == 0


@pytest.mark.parametrize("args,option", [
    (["--symbol", "ETHUSDT"], "--symbol"),
    (["--symbol", "BTC-USDT"], "--symbol"),
    (["--start", "9", "--end", "5"], "--end"),
    (["--start", "yesterday"], "--start"),
    (["--end", "2024-13-45"], "--end"),
    (["--format", "parquet", "--csv-layout", "binance"], "--csv-layout"),
    (["--what", "book", "--format", "csv", "--csv-layout", "binance"], "--csv-layout"),
    (["--levels", "3"], "--levels"),
])
def test_bad_arguments_exit_2_naming_the_option_and_write_nothing(data_dir, tmp_path, capsys, args, option):
    out = tmp_path / "never.parquet"
    base = {"--symbol": SYMBOL, "--start": "0", "--end": "9999999999999", "--out": str(out),
            "--data-dir": str(data_dir)}
    given = dict(zip(args[::2], args[1::2]))
    argv = [x for k, v in {**base, **given}.items() for x in (k, v)]
    assert cli.main(argv) == 2
    assert f"tradeactors export: {option}:" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


def test_a_missing_data_dir_or_an_unwritable_out_exit_2(data_dir, tmp_path, capsys):
    assert export(tmp_path / "nowhere", tmp_path / "x.parquet") == 2
    assert "--data-dir: no tradeactors database" in capsys.readouterr().err
    assert export(data_dir, tmp_path / "no" / "such" / "dir.parquet") == 2
    assert "--out: the directory" in capsys.readouterr().err
    assert export(data_dir, tmp_path) == 2
    assert "--out:" in capsys.readouterr().err
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.geteuid() != 0:  # root writes anywhere: the check is then the rename's
        assert export(data_dir, locked / "x.parquet") == 2
    assert [p.name for p in tmp_path.iterdir()] == ["locked"]


def test_the_real_cli_exits_2_for_bad_arguments(data_dir, tmp_path):
    out = tmp_path / "x.parquet"
    done = run_cli("export", "--symbol", SYMBOL, "--start", "10", "--end", "5", "--out", str(out), "--data-dir",
                   str(data_dir))
    assert done.returncode == 2 and "--end:" in done.stderr
    done = run_cli("export", "--symbol", SYMBOL, "--start", "0", "--end", "5", "--out", str(out), "--what",
                   "quotes", "--data-dir", str(data_dir))
    assert done.returncode == 2 and "--what" in done.stderr
    done = run_cli("export", "--symbol", SYMBOL, "--start", "0", "--end", "5", "--out", str(out), "--http",
                   "http://127.0.0.1:1", "--data-dir", str(data_dir))
    assert done.returncode == 2 and "--http" in done.stderr
    assert not out.exists()


def test_a_failed_export_leaves_the_previous_file_untouched(data_dir, tmp_path, capsys):
    out = tmp_path / "t.parquet"
    out.write_bytes(b"the previous export")
    assert cli.main(["--symbol", SYMBOL, "--start", "0", "--end", "5", "--out", str(out), "--http",
                     "http://127.0.0.1:1"]) == 2  # nothing listens there
    assert "--http: cannot reach" in capsys.readouterr().err
    assert out.read_bytes() == b"the previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]

"""The shipped supervisord program file under a real supervisord: RUNNING, `supervisorctl stop` exits 0 with
every trade stored, `kill -9` is restarted and the hole filled, a bad config goes FATAL after its retries.

The program section is etc/supervisord/tradeactors.conf with only the paths (command, directory, user, log,
environment) rewritten for a temp dir and the in-process exchange simulator; the policy keys are kept.
"""

from __future__ import annotations

import configparser
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import requests

from tests.helpers import ROOT, wait_for
from tradeactors import storage
from tradeactors.storage import Database

pytest.importorskip("supervisor", reason="pip install supervisor (see .ci/run)")

PROGRAM_FILE = ROOT / "etc" / "supervisord" / "tradeactors.conf"
SYMBOLS = ("BTCUSDT", "ETHUSDT")


def shipped_program() -> dict[str, str]:
    parser = configparser.RawConfigParser(inline_comment_prefixes=(";",))
    parser.read(PROGRAM_FILE)
    return dict(parser["program:tradeactors"])


class Supervisord:
    def __init__(self, tmp_path: Path, sim, extra_args: str = ""):
        self.dir = tmp_path
        self.log = tmp_path / "tradeactors.log"
        self.data = tmp_path / "data"
        ini = tmp_path / "tradeactors.ini"
        ini.write_text(f"[service]\nsymbols = {','.join(SYMBOLS)}\ndata_dir = {self.data}\nws_url = {sim.ws_url}\n"
                       f"rest_url = {sim.rest_url}\nca_file = {sim.ca_file}\nhttp = 127.0.0.1:0\n"
                       "[stream]\nbackoff_max = 2\n")
        program = shipped_program()
        assert program["command"].startswith("/opt/tradeactors/bin/tradeactors start --config ")
        program.pop("user")
        program.update(command=f"{ROOT}/bin/tradeactors start --config {ini} {extra_args}".strip(),
                       directory=str(ROOT), stdout_logfile=str(self.log),
                       environment=f'PYTHONUNBUFFERED="1",PYTHON="{sys.executable}"')
        self.conf = tmp_path / "supervisord.conf"
        sock = tmp_path / "supervisor.sock"
        self.conf.write_text(
            f"[unix_http_server]\nfile={sock}\n\n"
            f"[supervisord]\nlogfile={tmp_path / 'supervisord.log'}\npidfile={tmp_path / 'supervisord.pid'}\n"
            f"nodaemon=true\nchildlogdir={tmp_path}\n\n"
            "[rpcinterface:supervisor]\n"
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n"
            f"[supervisorctl]\nserverurl=unix://{sock}\n\n"
            "[program:tradeactors]\n" + "".join(f"{k}={v}\n" for k, v in program.items()))
        self.proc = subprocess.Popen([sys.executable, "-m", "supervisor.supervisord", "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)

    def ctl(self, *args: str) -> str:
        result = subprocess.run([sys.executable, "-m", "supervisor.supervisorctl", "-c", str(self.conf), *args],
                                capture_output=True, text=True, timeout=90)
        return result.stdout

    def state(self) -> str:
        words = self.ctl("status", "tradeactors").split()
        return words[1] if len(words) > 1 else ""

    def pid(self) -> int:
        return int(self.ctl("pid", "tradeactors").strip() or 0)

    def api(self) -> str:
        """The HTTP address the current (newest) service process printed."""
        text = self.log.read_text() if self.log.exists() else ""
        urls = re.findall(r"serving the API and dashboard at (\S+)/", text)
        return urls[-1] if urls else ""

    def supervisord_log(self) -> str:
        path = self.dir / "supervisord.log"
        return path.read_text() if path.exists() else ""

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def supervisord(tmp_path, sim):
    started = []

    def start(extra_args: str = "") -> Supervisord:
        s = Supervisord(tmp_path, sim, extra_args)
        started.append(s)
        return s

    yield start
    for s in started:
        s.close()


def status(api: str) -> dict:
    try:
        return requests.get(f"{api}/api/status", timeout=5).json()
    except (requests.RequestException, ValueError):
        return {}


def received_everything(sup: Supervisord, sim) -> bool:
    symbols = status(sup.api()).get("symbols", {})
    return all(symbols.get(s, {}).get("last_trade_id") == int(sim.published_ids(s)[-1]) for s in SYMBOLS)


def stored_ids(sup: Supervisord) -> dict[str, list[int]]:
    db = Database(sup.data / "analytics")
    try:
        return {s: storage.trade_ids(db, s).tolist() for s in SYMBOLS}
    finally:
        db.close()


def assert_stored_exactly_what_was_published(ids: dict[str, list[int]], sim) -> None:
    for symbol in SYMBOLS:
        stored = ids[symbol]
        assert stored, symbol
        published = np.asarray(sim.published_ids(symbol))
        expected = published[published >= stored[0]].tolist()
        assert stored == expected, f"{symbol}: {len(stored)} stored vs {len(expected)} published from {stored[0]}"


def stop_after_draining(sup: Supervisord, sim) -> None:
    sim.pause()
    wait_for(lambda: received_everything(sup, sim), timeout=20, message="the last published trades received")
    out = sup.ctl("stop", "tradeactors")
    assert "stopped" in out, out
    wait_for(lambda: "stopped: tradeactors (exit status 0)" in sup.supervisord_log(), timeout=10,
             message="supervisord to log exit status 0")
    assert sup.state() == "STOPPED"


def test_running_then_supervisorctl_stop_exits_0_with_every_trade_stored(supervisord, sim):
    sup = supervisord()
    wait_for(lambda: sup.state() == "RUNNING", timeout=40, interval=0.3, message="RUNNING")
    wait_for(lambda: sup.api() and status(sup.api()).get("storage", {}).get("batches_written", 0) >= 3,
             timeout=30, interval=0.2, message="batches written")
    stop_after_draining(sup, sim)
    assert_stored_exactly_what_was_published(stored_ids(sup), sim)


def test_kill_9_is_restarted_and_the_hole_filled(supervisord, sim):
    sup = supervisord()
    wait_for(lambda: sup.state() == "RUNNING", timeout=40, interval=0.3, message="RUNNING")
    first_api = wait_for(sup.api, timeout=20, message="first service address")
    wait_for(lambda: status(first_api).get("storage", {}).get("batches_written", 0) >= 3, timeout=30,
             interval=0.2, message="batches written")
    victim = sup.pid()
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: sup.pid() not in (0, victim), timeout=30, interval=0.3, message="a new process")
    wait_for(lambda: sup.state() == "RUNNING", timeout=40, interval=0.3, message="RUNNING again")
    assert "exited: tradeactors (terminated by SIGKILL" in sup.supervisord_log()
    wait_for(lambda: sup.api() != first_api, timeout=20, message="the new service address")

    def no_holes():
        storage = status(sup.api()).get("storage", {})
        return storage and all(not storage["holes"][s] for s in SYMBOLS) and all(
            len(storage["stored_ids"][s]) == 1 for s in SYMBOLS)

    wait_for(no_holes, timeout=40, interval=0.3, message="the hole filled from REST")
    stop_after_draining(sup, sim)
    assert_stored_exactly_what_was_published(stored_ids(sup), sim)


def test_bad_config_goes_fatal_after_its_retries_instead_of_looping(supervisord):
    sup = supervisord("--symbols btc-usdt")
    retries = int(shipped_program()["startretries"])
    wait_for(lambda: sup.state() == "FATAL", timeout=60, interval=0.3, message="FATAL")
    exits = re.findall(r"exited: tradeactors \(exit status 2; not expected\)", sup.supervisord_log())
    assert len(exits) == retries + 1
    assert "symbols: 'btc-usdt' is not a symbol" in sup.log.read_text()
    assert sup.state() == "FATAL"


def test_supervisorctl_signal_hup_applies_an_edited_symbol_list_without_a_restart(supervisord, sim):
    sup = supervisord()
    wait_for(lambda: sup.state() == "RUNNING", timeout=40, interval=0.3, message="RUNNING")
    wait_for(lambda: set(status(sup.api()).get("symbols", {})) == set(SYMBOLS), timeout=30, interval=0.2,
             message="both symbols recording")
    pid = sup.pid()
    ini = sup.dir / "tradeactors.ini"
    ini.write_text(ini.read_text().replace(f"symbols = {','.join(SYMBOLS)}", "symbols = BTCUSDT"))
    out = sup.ctl("signal", "HUP", "tradeactors")
    assert "signalled" in out, out
    wait_for(lambda: set(status(sup.api()).get("symbols", {})) == {"BTCUSDT"}, timeout=20, interval=0.2,
             message="ETHUSDT stopped by SIGHUP")
    assert sup.pid() == pid and sup.state() == "RUNNING"
    assert "Stopped recording ETHUSDT (SIGHUP: removed from the configured list)" in sup.log.read_text()

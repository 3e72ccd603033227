"""Drive a simulator that runs in another process, through its ``/_sim`` control API.

:class:`SimulatorClient` has the same method names as :class:`~tradeactors.simulator.Simulator`;
:func:`spawn_simulator` starts ``python -m tradeactors.simulator`` (TLS unless ``--no-tls`` is passed) and
returns a client for it. Over TLS the client trusts the simulator's own CA file, verification on.
"""
from __future__ import annotations

import json
import re
import ssl
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

import numpy as np

from .tls import client_context

_LISTENING = re.compile(r"simulator listening on (wss?://\S+) \(rest (https?://[^\s,)]+)(?:, ca (.+))?\)\s*$")
"""The line ``cli.listening_line`` prints; the CA path runs to the closing parenthesis (it may hold spaces)."""


class SimulatorError(RuntimeError):
    """The control API refused a command (its message says why)."""


class SimulatorClient:
    """``ca_file``: the simulator's CA (PEM), needed when ``rest_url`` is ``https://``."""

    def __init__(self, rest_url: str, ws_url: str | None = None, process: subprocess.Popen | None = None,
                 ca_file: str | None = None) -> None:
        self.rest_url = rest_url.rstrip("/")
        scheme, rest = self.rest_url.split("://", 1)
        self.ws_url = ws_url or ("wss://" if scheme == "https" else "ws://") + rest
        self.port = urllib.parse.urlsplit(self.rest_url).port
        self.process = process
        self.ca_file = ca_file
        # Without our CA an https URL fails verification, which is right: it is never switched off.
        self._ssl = None
        if scheme == "https":
            self._ssl = client_context(ca_file) if ca_file else ssl.create_default_context()

    def client_ssl_context(self) -> ssl.SSLContext:
        """An SSLContext trusting the simulator's CA, hostname and certificate checks on."""
        if self.ca_file is None:
            raise RuntimeError("no CA file: the simulator runs without TLS")
        return client_context(self.ca_file)

    def _request(self, method: str, path: str, /, **params):  # "/": a query may hold "path"
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        url = f"{self.rest_url}{path}" + (f"?{query}" if query else "")
        req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
        try:
            with urllib.request.urlopen(req, timeout=15, context=self._ssl) as resp:
                body = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            raise SimulatorError(exc.read().decode(errors="replace")) from None
        return body["result"] if method == "POST" else body

    def _post(self, path, /, **params):
        return self._request("POST", path, **params)

    def _get(self, path, /, **params):
        return self._request("GET", path, **params)

    # faults and controls
    def drop_connections(self, symbol=None):
        return self._post("/_sim/fault/drop", symbol=symbol)

    def stall(self, seconds, symbol=None):
        return self._post("/_sim/fault/stall", seconds=seconds, symbol=symbol)

    def refuse_connections(self, seconds):
        return self._post("/_sim/fault/refuse", seconds=seconds)

    def send_malformed(self, symbol=None, kind="truncated"):
        return self._post("/_sim/fault/malformed", symbol=symbol, kind=kind)

    def skip_depth_updates(self, symbol=None, count=1):
        return self._post("/_sim/fault/skip_depth", symbol=symbol, count=count)

    def skip_trade_ids(self, symbol, count=1):
        return self._post("/_sim/fault/skip_trades", symbol=symbol, count=count)

    def stale_depth(self, symbol, updates_behind=50, count=1):
        return self._post("/_sim/fault/stale_depth", symbol=symbol, behind=updates_behind, count=count)

    def duplicate_next(self, symbol=None, stream="aggTrade"):
        return self._post("/_sim/fault/duplicate", symbol=symbol, stream=stream)

    def server_shutdown(self, symbol=None):
        return self._post("/_sim/fault/shutdown", symbol=symbol)

    def rest_fail(self, status, seconds):
        return self._post("/_sim/fault/rest_fail", status=status, seconds=seconds)

    def rest_fault(self, kind, count=1, path=None):
        return self._post("/_sim/fault/rest", kind=kind, count=count, path=path)

    def set_activity(self, factor):
        return self._post("/_sim/activity", factor=factor)

    def set_weight_budget(self, n):
        return self._post("/_sim/weight_budget", n=n)

    def pause(self, symbol=None):
        return self._post("/_sim/pause", symbol=symbol)

    def resume(self, symbol=None):
        return self._post("/_sim/resume", symbol=symbol)

    def set_regime(self, symbol=None, **regime):
        return self._post("/_sim/regime", symbol=symbol, **regime)

    def list_symbol(self, symbol, rate=None):
        return self._post("/_sim/list_symbol", symbol=symbol, rate=rate)

    def set_symbol_status(self, symbol, status):
        return self._post("/_sim/symbol_status", symbol=symbol, status=status)

    # reads
    def state(self) -> dict:
        return self._get("/_sim/state")

    def limit_violations(self) -> dict[str, int]:
        return self._get("/_sim/limits")

    def connection_count(self, symbol=None) -> int:
        return self._get("/_sim/connections", symbol=symbol)["count"]

    def published_trades(self, symbol, from_id=None, limit=None) -> list[dict]:
        return self._get("/_sim/trades", symbol=symbol, fromId=from_id, limit=limit)

    def published_ids(self, symbol):
        r = self._get("/_sim/ids", symbol=symbol)
        return np.arange(r["first"], r["first"] + r["count"], dtype=np.int64)

    def book_at(self, symbol, update_id, depth=None):
        r = self._get("/_sim/book", symbol=symbol, updateId=update_id, depth=depth)
        return [tuple(x) for x in r["bids"]], [tuple(x) for x in r["asks"]]

    def current_update_id(self, symbol) -> int:
        return self._get("/_sim/update_id", symbol=symbol)["update_id"]

    def close(self, timeout: float = 10.0) -> int | None:
        """Terminate the spawned process (SIGTERM, then SIGKILL); returns its exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def spawn_simulator(argv=(), timeout: float = 30.0) -> SimulatorClient:
    """Run ``python -m tradeactors.simulator *argv`` and wait for its "listening" line.

    TLS is the simulator's default; pass ``--no-tls`` for plaintext."""
    proc = subprocess.Popen([sys.executable, "-m", "tradeactors.simulator", *argv], stdout=subprocess.PIPE,
                            text=True)
    found: list[re.Match[str]] = []
    ready = threading.Event()
    stdout = proc.stdout
    assert stdout is not None  # stdout=PIPE

    def pump() -> None:
        # Keep reading so that a chatty simulator never blocks on a full pipe.
        for line in stdout:
            if not found:
                m = _LISTENING.search(line)
                if m:
                    found.append(m)
                    ready.set()
            else:
                sys.stdout.write(line)
        ready.set()

    threading.Thread(target=pump, name="simulator-stdout", daemon=True).start()
    if not ready.wait(timeout) or not found:
        proc.kill()
        proc.wait()
        raise RuntimeError(f"simulator did not start (exit code {proc.returncode})")
    ws_url, rest_url, ca_file = found[0].groups()
    return SimulatorClient(rest_url, ws_url, proc, ca_file=ca_file)

"""Binance REST: one weight ledger per process and a small client that never spends outside it.

Binance counts request weight per IP per minute (6000) and reports the count in ``X-MBX-USED-WEIGHT-1M``; a
client over the limit gets 429 and, if it keeps going, 418 (banned), both with ``Retry-After`` seconds. The
ledger keeps this process inside ``share`` of the budget (half by default), takes the server's count when it is
higher than its own (other processes on the IP spend too), and holds every request while a Retry-After is in
force. The ledger is pure state with an injectable clock; ``RestClient`` does the I/O.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from email.message import Message
from typing import TYPE_CHECKING, Any

import orjson

from tradeactors.protocol import AggTrade, MalformedFrame, aggtrade_from_rest
from tradeactors.snapshotschedule import depth_weight
from tradeactors.symbolset import ListedSymbol, parse_exchange_info

if TYPE_CHECKING:
    from tradeactors.metrics import Metrics

log = logging.getLogger(__name__)

WEIGHT_AGG_TRADES = 4
WEIGHT_EXCHANGE_INFO = 20
AGG_TRADES_LIMIT = 1000
FILTERS_BY_NAME = 50
"""Up to this many symbols' filters are asked by name (``symbols=[...]``); more are read from the whole list: a
query string of hundreds of names gets long, and the whole list costs the same weight."""

__all__ = ["AGG_TRADES_LIMIT", "WEIGHT_AGG_TRADES", "WEIGHT_EXCHANGE_INFO", "RestClient", "RestError", "WeightLedger",
           "depth_weight"]


class WeightLedger:
    def __init__(self, budget: int = 6000, share: float = 0.5, clock: Callable[[], float] = time.time):
        self.limit = int(budget * share)
        self.clock = clock
        self._lock = threading.RLock()
        self._minute = -1
        self._used = 0
        self.blocked_until = 0.0
        self.spent_total = 0
        self.listeners: list[Callable[[], None]] = []
        """Called by ``changed``: workers that sleep until the weight fits wake to look again."""

    def _roll(self, now: float) -> None:
        minute = int(now // 60)
        if minute != self._minute:
            self._minute, self._used = minute, 0

    @property
    def used(self) -> int:
        with self._lock:
            self._roll(self.clock())
            return self._used

    def reserve(self, weight: int) -> float:
        """Record ``weight`` and return 0 if it may be spent now; otherwise return the seconds to wait."""
        with self._lock:
            now = self.clock()
            if now < self.blocked_until:
                return self.blocked_until - now
            self._roll(now)
            if self._used + weight > self.limit:
                return (self._minute + 1) * 60 - now + 0.01
            self._used += weight
            self.spent_total += weight
            return 0.0

    def acquire(self, weight: int, stop: threading.Event | None = None) -> bool:
        """Block until ``weight`` may be spent; False if ``stop`` was set while waiting."""
        while True:
            delay = self.reserve(weight)
            if delay <= 0:
                return True
            if stop is not None:
                if stop.wait(min(delay, 1.0)):
                    return False
            else:
                time.sleep(min(delay, 1.0))

    def observe(self, used_weight: int) -> None:
        """The server's count for this minute (X-MBX-USED-WEIGHT-1M)."""
        with self._lock:
            self._roll(self.clock())
            self._used = max(self._used, used_weight)

    def block(self, seconds: float) -> None:
        """A 429/418 Retry-After: no request until it has passed."""
        with self._lock:
            self.blocked_until = max(self.blocked_until, self.clock() + seconds)
        self.changed()

    def changed(self) -> None:
        """Wake whoever sleeps until weight fits: a Retry-After came, or a test moved the ledger's clock."""
        for listener in list(self.listeners):
            listener()

    @contextlib.contextmanager
    def held(self) -> Iterator[WeightLedger]:
        """No reservation while held (``used`` still answers): a test that drives a fake clock compares the count
        with the exchange's and moves the clock with nothing reserved in between."""
        with self._lock:
            yield self


class RestError(Exception):
    """A REST call failed. ``retryable`` tells whether trying again later can help."""

    def __init__(self, message: str, status: int | None = None, retryable: bool = True,
                 retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after


class RestClient:
    """GET requests within the weight ledger. Every failure of the network or of the answer (refused, reset,
    TLS error, a body cut short, a body that is not JSON) is a ``RestError``: callers retry it or give up, but
    no other exception escapes to end a worker thread."""

    def __init__(self, base_url: str, ledger: WeightLedger, metrics: Metrics | None = None, timeout: float = 10.0,
                 ssl_context: ssl.SSLContext | None = None):
        self.base_url = base_url.rstrip("/")
        self.ledger = ledger
        self.metrics = metrics
        self.timeout = timeout
        self.ssl_context = ssl_context
        """Trust for https:// (``tls.client_context``); None: the system's defaults."""

    def get_json(self, path: str, params: dict[str, Any], weight: int, stop: threading.Event | None = None,
                 reserved: bool = False) -> Any:
        """``reserved``: the caller has already reserved ``weight`` in the ledger (``WeightLedger.reserve``)."""
        if not reserved and not self.ledger.acquire(weight, stop):
            raise RestError("stopping", retryable=False)
        url = f"{self.base_url}{path}?{urllib.parse.urlencode(params)}"
        outcome = "error"
        try:
            with urllib.request.urlopen(url, timeout=self.timeout, context=self.ssl_context) as response:
                self._observe(response.headers)
                body = response.read()
                outcome = "ok"
        except urllib.error.HTTPError as exc:
            outcome = str(exc.code)
            self._observe(exc.headers)
            raise self._http_error(exc, path) from None
        except (urllib.error.URLError, OSError) as exc:  # refused, reset, timed out, TLS (ssl.SSLError)
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            text = f"{type(reason).__name__}: {reason}" if isinstance(reason, BaseException) else str(reason)
            raise RestError(f"GET {path} failed: {text}") from None
        except http.client.HTTPException as exc:  # IncompleteRead, BadStatusLine, RemoteDisconnected
            raise RestError(f"GET {path} failed: {type(exc).__name__}: {exc}") from None
        finally:
            if self.metrics is not None:
                self.metrics.rest_weight.inc(weight)
                self.metrics.rest_requests.labels(path, outcome).inc()
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            raise RestError(f"GET {path} returned a body that is not JSON") from None

    def _observe(self, headers: Message | None) -> None:
        used = headers.get("X-MBX-USED-WEIGHT-1M") if headers else None
        if used and used.isdigit():
            self.ledger.observe(int(used))

    def _http_error(self, exc: urllib.error.HTTPError, path: str) -> RestError:
        status = exc.code
        if status in (429, 418):
            retry_after = exc.headers.get("Retry-After", "60") if exc.headers else "60"
            seconds = float(retry_after) if retry_after.replace(".", "", 1).isdigit() else 60.0
            self.ledger.block(seconds)
            log.warning("REST %s answered %d (%s): holding every request for %.0fs", path, status,
                        "banned" if status == 418 else "rate limited", seconds)
            return RestError(f"GET {path}: HTTP {status}", status, retryable=True, retry_after=seconds)
        try:
            detail = exc.read()[:200].decode("utf-8", "replace")
        except Exception:
            detail = ""
        return RestError(f"GET {path}: HTTP {status} {detail}", status, retryable=status >= 500)

    def agg_trades(self, symbol: str, from_id: int, limit: int = AGG_TRADES_LIMIT,
                   stop: threading.Event | None = None) -> list[AggTrade]:
        """Aggregate trades with id >= from_id (inclusive), oldest first, at most ``limit``."""
        items = self.get_json("/api/v3/aggTrades", {"symbol": symbol, "fromId": from_id, "limit": limit},
                              WEIGHT_AGG_TRADES, stop)
        if not isinstance(items, list):
            raise RestError("aggTrades did not return a list")
        try:
            return [aggtrade_from_rest(item) for item in items]
        except MalformedFrame as exc:
            raise RestError(f"aggTrades returned a malformed item: {exc}") from None

    def first_agg_trade_since(self, symbol: str, start_ms: int, stop: threading.Event | None = None) -> int | None:
        """The id of the first aggregate trade at or after ``start_ms`` (within the hour Binance searches from a
        ``startTime``), None if there is none yet."""
        items = self.get_json("/api/v3/aggTrades", {"symbol": symbol, "startTime": start_ms, "limit": 1},
                              WEIGHT_AGG_TRADES, stop)
        if not isinstance(items, list):
            raise RestError("aggTrades did not return a list")
        try:
            return aggtrade_from_rest(items[0]).a if items else None
        except MalformedFrame as exc:
            raise RestError(f"aggTrades returned a malformed item: {exc}") from None

    def depth(self, symbol: str, limit: int, stop: threading.Event | None = None,
              reserved: bool = False) -> tuple[int, list[list[str]], list[list[str]]]:
        """The order-book snapshot: (lastUpdateId, bids, asks) with levels as [price, qty] strings. ``reserved``:
        its weight is already reserved in the ledger."""
        body = self.get_json("/api/v3/depth", {"symbol": symbol, "limit": limit}, depth_weight(limit), stop,
                             reserved)
        try:
            last, bids, asks = body["lastUpdateId"], body["bids"], body["asks"]
        except (KeyError, TypeError):
            raise RestError("depth returned a body without lastUpdateId/bids/asks") from None
        if type(last) is not int or not isinstance(bids, list) or not isinstance(asks, list):
            raise RestError("depth returned fields of the wrong type")
        return last, bids, asks

    def symbol_filters(self, symbols: Iterable[str],
                       stop: threading.Event | None = None) -> dict[str, dict[str, str]]:
        """``PRICE_FILTER.tickSize`` and ``LOT_SIZE.stepSize`` per symbol from /api/v3/exchangeInfo (weight 20)."""
        names = list(symbols)
        params = {"symbols": orjson.dumps(names).decode()} if len(names) <= FILTERS_BY_NAME else {}
        body = self.get_json("/api/v3/exchangeInfo", params, WEIGHT_EXCHANGE_INFO, stop)
        out = {}
        try:
            for item in body["symbols"]:
                filters = {f["filterType"]: f for f in item["filters"]}
                out[item["symbol"]] = {"tickSize": filters["PRICE_FILTER"]["tickSize"],
                                       "stepSize": filters["LOT_SIZE"]["stepSize"]}
        except (KeyError, TypeError):
            raise RestError("exchangeInfo returned a body without symbols/filters") from None
        return out

    def listed_symbols(self, stop: threading.Event | None = None) -> list[ListedSymbol]:
        """Every symbol /api/v3/exchangeInfo lists (weight 20), with its status and quote asset."""
        body = self.get_json("/api/v3/exchangeInfo", {}, WEIGHT_EXCHANGE_INFO, stop)
        try:
            return parse_exchange_info(body)
        except ValueError as exc:
            raise RestError(str(exc)) from None

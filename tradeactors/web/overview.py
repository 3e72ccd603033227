"""Many symbols at a glance: each symbol's state as operators see it and why it needs attention, counts by state,
filtering, sorting and paging, for ``/api/status`` and ``/api/dashboard``.

Pure: built from ``Service.status()`` (its ``symbols``, ``storage.holes``, ``backfill.last_gap``) and per-symbol
metric values, with the time handed in; no Flask, no actors. ``TradeRates`` is the one piece with memory: the
trades/min of each symbol between two reads of its ``trades_received`` counter.

A symbol needs attention (``ATTENTION_REASONS``, most urgent first) when its actor did not answer
(``unavailable``), it has been without a connection past ``stream_down_alert`` (``down``), it is connecting or
reconnecting (``not_connected``), it is connected but nothing arrived for ``STALL_AFTER_S`` (``stalled``), its
book is not synced (``unsynced``), storage knows an open hole in its ids (``holes``), or its newest stored trade
was older than ``LAG_ALERT_S`` when written (``lagging``).
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tradeactors.parameters import ATTENTION_REASONS, STREAM_STATES, SYMBOL_RE

STALL_AFTER_S = 60.0
"""Connected, but no frame at all for this long: the watchdog (``stream_timeout``) has not acted yet. Whole-market
symbols can be quiet for many seconds (Binance sends a depth diff only when the book changed), so it is long."""
LAG_ALERT_S = 10.0
"""Store lag (exchange trade time to write) above which a symbol is ``lagging``: the flush is every second."""
RATE_WINDOW_S = 60.0
"""Trades/min are measured over about this long (from the newest read at least this old, else the oldest)."""

NOT_CONNECTED = ("connecting", "reconnecting", "starting", "stopped")
RANKS = {reason: rank for rank, reason in enumerate(ATTENTION_REASONS)}
FINE = len(ATTENTION_REASONS)
"""The rank of a symbol that needs no attention: after every reason."""


def stream_state(status: Mapping[str, Any], down_alert: float) -> str:
    """One of ``parameters.STREAM_STATES`` for a StreamActor's status (an answer with ``error`` is unavailable)."""
    state = status.get("state")
    if "error" in status or state not in STREAM_STATES:
        return "unavailable"
    if state == "connected":
        age = status.get("last_message_age_ms")
        return "stalled" if age is not None and age > STALL_AFTER_S * 1000 else "connected"
    if state in NOT_CONNECTED[:2] and (status.get("down_for_s") or 0) > down_alert:
        return "down"
    return str(state)


def reasons(state: str, book: str, holes: int, lag_s: float | None) -> list[str]:
    """Why the symbol needs attention, most urgent first (empty: it does not)."""
    found = []
    if state in ("unavailable", "down", "stalled"):
        found.append(state)
    elif state in NOT_CONNECTED:
        found.append("not_connected")
    if state != "unavailable" and book != "synced":
        found.append("unsynced")
    if holes:
        found.append("holes")
    if lag_s is not None and lag_s > LAG_ALERT_S:
        found.append("lagging")
    return sorted(found, key=RANKS.__getitem__)


class TradeRates:
    """Trades/min per symbol from successive reads of the ``trades_received`` counters (``observe``), kept for
    about ``RATE_WINDOW_S``. A counter that went down (a new registry) starts that symbol over."""

    def __init__(self, window_s: float = RATE_WINDOW_S):
        self.window_s = window_s
        self._reads: collections.deque[tuple[float, dict[str, float]]] = collections.deque()

    def observe(self, now_s: float, counts: Mapping[str, float]) -> None:
        reads = self._reads
        if reads and now_s - reads[-1][0] < 0.5:
            return  # two requests in the same instant: the first read stands
        reads.append((now_s, dict(counts)))
        # Keep one read older than the window, so that the rate spans the whole window once it can.
        while len(reads) > 2 and now_s - reads[1][0] >= self.window_s:
            reads.popleft()

    def per_minute(self) -> dict[str, float]:
        """{symbol: trades/min} between the oldest kept read and the newest (nothing until two reads)."""
        if len(self._reads) < 2:
            return {}
        (then, old), (now, new) = self._reads[0], self._reads[-1]
        minutes = (now - then) / 60
        return {symbol: (count - old[symbol]) / minutes for symbol, count in new.items()
                if symbol in old and count >= old[symbol]}


def symbol_rows(status: Mapping[str, Any], values: Mapping[str, Mapping[str, float]], rates: Mapping[str, float],
                down_alert: float) -> list[dict[str, Any]]:
    """One compact row per symbol of ``status["symbols"]`` (in its order): what the dashboard's table shows and
    what the filters and the summary read. ``values``: ``{metric: {symbol: value}}`` with ``store_lag``,
    ``reconnects`` and ``connection_failures``."""
    storage = status.get("storage") or {}
    found = storage.get("holes")
    holes: dict[str, Any] = found if isinstance(found, dict) else {}
    gaps = (status.get("backfill") or {}).get("last_gap") or {}
    lag, reconnects, failures = (values.get(k, {}) for k in ("store_lag", "reconnects", "connection_failures"))
    rows = []
    for symbol, s in (status.get("symbols") or {}).items():
        state = stream_state(s, down_alert)
        book = s.get("book") or {}
        book_state = "unavailable" if state == "unavailable" else str(book.get("state") or "unknown")
        open_holes = len(holes.get(symbol) or ())
        why = reasons(state, book_state, open_holes, lag.get(symbol))
        rows.append({
            "symbol": symbol, "state": state, "book": book_state,
            "book_unsynced_for_s": book.get("unsynced_for_s"), "resyncs": book.get("resyncs"),
            "last_trade_id": s.get("last_trade_id"), "last_trade_time": s.get("last_trade_time"),
            "last_message_age_ms": s.get("last_message_age_ms"), "trades_received": s.get("trades_received"),
            "trades_per_min": rates.get(symbol), "store_lag_s": lag.get(symbol),
            "reconnects": int(reconnects.get(symbol, 0)), "connection_failures": int(failures.get(symbol, 0)),
            "holes": open_holes, "last_gap": gaps.get(symbol), "attention": why,
            "rank": RANKS[why[0]] if why else FINE,
        })
    return rows


def summary(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts of ``rows`` by stream state, by book state and by reason for attention, and totals."""
    streams = dict.fromkeys(STREAM_STATES, 0)
    books: dict[str, int] = {}
    by_reason = dict.fromkeys(ATTENTION_REASONS, 0)
    attention = holes = 0
    rate: float | None = None
    for row in rows:
        streams[row["state"]] += 1
        books[row["book"]] = books.get(row["book"], 0) + 1
        for reason in row["attention"]:
            by_reason[reason] += 1
        attention += bool(row["attention"])
        holes += row["holes"]
        if row["trades_per_min"] is not None:
            rate = (rate or 0.0) + row["trades_per_min"]
    return {"symbols": len(rows), "streams": streams, "books": books, "attention": attention,
            "attention_by_reason": by_reason, "holes": holes,
            "trades_per_min": None if rate is None else round(rate, 1)}


def select(rows: Iterable[dict[str, Any]], state: str | None = None, search: str = "") -> list[dict[str, Any]]:
    """The rows in ``state`` (a stream state, a reason, or ``attention``) whose symbol contains ``search``."""
    chosen = []
    for row in rows:
        if search and search not in row["symbol"]:
            continue
        if state is None or (state == "attention" and row["attention"]) or row["state"] == state \
                or state in row["attention"]:
            chosen.append(row)
    return chosen


def _sort_key(column: str):
    if column == "attention":
        return lambda r: r["rank"]
    if column in ("state", "book"):
        return lambda r: r[column]
    field = {"last_trade": "last_trade_time", "trades_per_min": "trades_per_min", "store_lag": "store_lag_s",
             "reconnects": "reconnects"}.get(column)
    if field is None:
        return lambda r: r["symbol"]
    return lambda r: (r[field] is not None, r[field] or 0)  # unknown values sort before every known one


def ordered(rows: Iterable[dict[str, Any]], column: str = "attention", descending: bool = False) -> list[dict]:
    """``rows`` sorted by ``column`` (``parameters.SORT_COLUMNS``), ties by symbol (always ascending)."""
    by_symbol = sorted(rows, key=lambda r: r["symbol"])
    return sorted(by_symbol, key=_sort_key(column), reverse=descending)  # reverse keeps ties in symbol order


def only_symbols(part: Any, keep: set[str], symbols: set[str]) -> Any:
    """``part`` (a section of the status) with every map keyed by symbol cut down to ``keep``: a page of the
    status carries the storage and backfill details of its own symbols only. A map is keyed by symbol when its
    keys all have a symbol's form and one at least is collected (``symbols``): storage still holds symbols that
    stopped being collected (history stays until retention)."""
    if not isinstance(part, dict):
        return part
    out = {}
    for key, value in part.items():
        if isinstance(value, dict) and any(k in symbols for k in value) and \
                all(isinstance(k, str) and SYMBOL_RE.match(k) for k in value):
            value = {k: v for k, v in value.items() if k in keep}
        out[key] = value
    return out

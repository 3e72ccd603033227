"""StreamHub: which multiplexed connection carries which symbol; ConnectionActor: one connection's owner.

The hub places each recorded symbol on a connection (a *slot*) with room: a connection carries no more symbols
than fit in its URL (``mux.URL_STREAM_BYTES``, ~150), so a reconnection opens all of them at once, and 1,500 symbols
take about ten connections (ten of Binance's 300 connection attempts per 5 minutes). A symbol added while a
connection runs is subscribed on it with SUBSCRIBE (the reader does that, within Binance's control-message
limits); a symbol removed is unsubscribed, and its room reused. Symbols never move between connections.

Each slot's connection is run by a ``ConnectionActor`` (``connection:<slot>`` in the Supervisor and the
Directory) that owns the slot's ``MuxReader`` thread: a reader that dies fails its actor, and the Supervisor
restarts it with a fresh reader for the same symbols. Connections start after the StreamActors of the symbols they
carry (``connection_specs`` at start, ``start_connections`` after a change), so a new connection opens with every
symbol in its URL. The service stops them first (``stop_connections``): every trade read is handed over before the
StreamActors hand over their last book second.

Per symbol the hub keeps the ``mux.Feed`` (wire state that outlives a connection and a restart of the symbol's
StreamActor). Thread safety: one lock over the placement; readers read their slot's feeds through
``symbols_of``.
"""

from __future__ import annotations

import functools
import logging
import ssl
import threading
from collections.abc import Callable

import pykka

from tradeactors.actors.base import Actor, handles
from tradeactors.actors.directory import Directory
from tradeactors.actors.messages import GetStatus, InjectFailure
from tradeactors.actors.mux import URL_STREAM_BYTES, Feed, MuxReader, stream_bytes
from tradeactors.actors.supervisor import ActorSpec
from tradeactors.config import Config
from tradeactors.connlimit import SlidingWindowLimit
from tradeactors.metrics import Metrics

log = logging.getLogger(__name__)


class StreamHub:
    def __init__(self, config: Config, directory: Directory, metrics: Metrics, connect_limit: SlidingWindowLimit,
                 ssl_context: ssl.SSLContext | None, add_actor: Callable[[ActorSpec], None],
                 url_bytes: int | None = None):
        self.config = config
        self.directory = directory
        self.metrics = metrics
        self.connect_limit = connect_limit
        self.ssl_context = ssl_context
        self.add_actor = add_actor
        """Adds a supervised actor while the service runs (``Supervisor.add``)."""
        self.url_bytes = url_bytes or URL_STREAM_BYTES
        self.feeds: dict[str, Feed] = {}
        self._slots: list[dict[str, Feed]] = []
        self._room: list[int] = []
        """URL bytes left per slot."""
        self._readers: dict[int, MuxReader] = {}
        self._started: set[int] = set()
        """Slots whose ConnectionActor has been started (or is in the start-up list)."""
        self._lock = threading.RLock()

    # --- placement ----------------------------------------------------------------------------------------

    def place(self, symbol: str) -> Feed:
        """The symbol's feed, placed on a connection with room (a new slot if none has); idempotent."""
        with self._lock:
            feed = self.feeds.get(symbol)
            if feed is not None:
                return feed
            feed = self.feeds[symbol] = Feed(symbol)
            cost = stream_bytes(symbol)
            most = self.config.connection_symbols if self.config is not None else None
            fits = [slot for slot, room in enumerate(self._room)
                    if room >= cost and (most is None or len(self._slots[slot]) < most)]
            if fits:  # the emptiest: runtime additions spread, and SUBSCRIBE frames stay few per connection
                slot = max(fits, key=lambda s: self._room[s])
            else:
                slot = len(self._slots)
                self._slots.append({})
                self._room.append(self.url_bytes)
            self._slots[slot][symbol] = feed
            self._room[slot] -= cost
            feed.slot = slot
            reader = self._readers.get(slot)
        if reader is not None:
            reader.wake()  # a live connection subscribes it
        return feed

    def attach(self, symbol: str, ref: pykka.ActorRef) -> Feed:
        """A StreamActor starts (or restarts): its feed, placed if new, now tells it the diffs."""
        feed = self.place(symbol)
        feed.actor_ref = ref
        return feed

    def detach(self, symbol: str) -> None:
        """The symbol stops recording (its StreamActor stops): routed no more, its trades read so far handed over
        (``MuxReader.forget`` waits for a drain in progress), unsubscribed, its room freed."""
        with self._lock:
            feed = self.feeds.pop(symbol, None)
            if feed is None:
                return
            self._slots[feed.slot].pop(symbol, None)
            self._room[feed.slot] += stream_bytes(symbol)
            reader = self._readers.get(feed.slot)
        feed.actor_ref = None
        if reader is not None:
            reader.forget(feed)

    def symbols_of(self, slot: int) -> list[Feed]:
        with self._lock:
            return list(self._slots[slot].values()) if slot < len(self._slots) else []

    # --- connection actors --------------------------------------------------------------------------------

    def connection_specs(self) -> list[ActorSpec]:
        """Specs of the slots without a ConnectionActor yet (marked started: the caller starts them)."""
        with self._lock:
            slots = [slot for slot in range(len(self._slots)) if slot not in self._started and self._slots[slot]]
            self._started.update(slots)
        return [self._spec(slot) for slot in slots]

    def start_connections(self) -> None:
        """After symbols were placed at runtime: start the new slots' connections (their URLs carry them all)."""
        for spec in self.connection_specs():
            try:
                self.add_actor(spec)
            except RuntimeError as exc:
                log.error("could not start %s: %s", spec.name, exc)
                with self._lock:
                    self._started.discard(int(spec.name.split(":")[1]))

    def connection_names(self) -> list[str]:
        with self._lock:
            return [f"connection:{slot}" for slot in sorted(self._started)]

    def _spec(self, slot: int) -> ActorSpec:
        return ActorSpec(f"connection:{slot}", functools.partial(ConnectionActor.start, slot, self), stop_timeout=15)

    def new_reader(self, slot: int) -> MuxReader:
        reader = MuxReader(slot, self, self.config, self.directory, self.metrics, self.connect_limit,
                           self.ssl_context)
        with self._lock:
            self._readers[slot] = reader
        return reader

    def reader_of(self, slot: int) -> MuxReader | None:
        return self._readers.get(slot)

    def crash(self, symbol: str, reason: str) -> None:
        """``InjectFailure(thread=True)`` to a StreamActor: the reader carrying the symbol raises, as a bug would."""
        feed = self.feeds.get(symbol)
        reader = self._readers.get(feed.slot) if feed is not None else None
        if reader is not None:
            reader.crash = reason

    def status(self) -> list[dict]:
        """One entry per connection: symbols carried, state, connections opened, drains, control messages."""
        with self._lock:
            slots = [(slot, len(feeds), self._readers.get(slot)) for slot, feeds in enumerate(self._slots)]
        out = []
        for slot, count, reader in slots:
            entry: dict = {"connection": slot, "symbols": count}
            if reader is not None:
                entry.update(state=reader.state, connections=reader.connections, drains=reader.drains,
                             control_sent=reader.control_sent, control_errors=reader.control_errors,
                             malformed_frames=reader.malformed,
                             unrouted_frames=reader.unrouted, died=reader.died)
            out.append(entry)
        return out


class ConnectionActor(Actor):
    """Owns one multiplexed connection's reader thread (``mux.MuxReader``).

    Messages: ``GetStatus`` (ask) -> the connection's state; ``InjectFailure`` (tell): raises, or with
    ``thread=True`` makes the reader raise; ``ThreadDied`` (tell, from the reader): raises, so the Supervisor
    restarts this actor with a fresh reader. on_stop / on_failure: the reader stops (closing the socket at once)
    after handing over what it read."""

    def __init__(self, slot: int, hub: StreamHub):
        super().__init__()
        self.slot = slot
        self.hub = hub
        self.thread_name = f"Connection-{slot}"
        self.reader = hub.new_reader(slot)
        self._thread: threading.Thread | None = None

    def on_start(self) -> None:
        super().on_start()
        self.reader.actor_ref = self.actor_ref
        self._thread = threading.Thread(target=self.reader.run, name=self.reader.name, daemon=True)
        self._thread.start()

    def on_stop(self) -> None:
        self._stop_reader()

    def on_failure(self, exception_type, exception_value, traceback) -> None:
        self._stop_reader()

    def _stop_reader(self) -> None:
        self.reader.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)
            if self._thread.is_alive():
                log.error("%s did not stop within 5s", self.reader.name)
        self.reader.close_pipe()

    @handles(InjectFailure)
    def _inject_failure(self, message: InjectFailure) -> None:
        if not message.thread:
            raise RuntimeError(message.reason)
        self.reader.crash = message.reason

    @handles(GetStatus)
    def _status(self, _message: GetStatus) -> dict:
        r = self.reader
        return {"connection": self.slot, "state": r.state, "symbols": len(self.hub.symbols_of(self.slot)),
                "connections": r.connections, "drains": r.drains, "control_sent": r.control_sent,
                "reader_alive": bool(self._thread and self._thread.is_alive()), "reader_died": r.died}

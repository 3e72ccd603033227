"""Which book gets the next REST depth snapshot, at which size, and when. Pure: no I/O, no threads, no clock of
its own (every method that needs the time is given it).

The DepthSnapshotActor owns one ``SnapshotSchedule`` for the whole process. Binance counts request weight per IP
per minute, so a start or a lost connection of hundreds of symbols is a queue that drains at the weight ledger's
pace; this module decides the order and the size, the ledger (``rest.WeightLedger``) decides the pace.

**Order.** The book that matters most goes first: the highest recent *activity* (book levels changed plus trades,
per minute, as the StreamActor measures it with ``ActivityRate`` and reports with its request and while it waits);
ties, and books of unknown activity, by how long they have waited. A symbol is queued at most once: a request for a
symbol already queued refreshes its reason and activity and keeps its place in time. A failed fetch goes back to
the queue with its own backoff (``not_before``), so one symbol the exchange refuses does not hold up the others.

**Size.** ``/api/v3/depth`` costs 5 up to 100 levels, 25 up to 500, 50 up to 1000, 250 up to 5000. The tiers a
snapshot may be taken at (``size_tiers``) are the largest limit of each weight tier below the configured
``depth_limit``, and ``depth_limit`` itself; a tier must leave the book room above the levels stored each second
(see ``booksync.edge_for``). What a book needs from a snapshot is not its whole depth but enough levels that its
price does not run to the snapshot's edge before the next one: the stored seconds read the top
``book_second_levels``, and a book whose price nears the edge asks for a fresh snapshot (a *re-base*, while it stays
synced). So ``choose_limit`` picks, per symbol:

- first snapshot (nothing known): the smallest tier. It costs a tenth of ``limit=1000``, and the book is correct
  whatever its depth: a side that comes back full has unknown levels beyond it (``book.py``);
- the previous snapshot had fewer levels than asked on both sides (the whole book came back): the smallest tier
  that holds that many levels with a fifth to spare;
- a re-base (the price ran to the edge of the last snapshot): the next tier above the last one;
- any other resync (a sequence gap, a lost connection): the tier of the last snapshot, which was enough.

So 1,500 books sync at weight 5 each (7,500 weight: 2.5 minutes at 3,000 a minute, against 25 minutes at
``limit=1000``), after a start and after a mass drop alike, and only a book whose price actually travels pays for
more levels, one tier at a time, from then on.

**Whether the weight fits.** ``take`` asks the ledger for the weight of the first request in order; when it does
not fit, it tries the first request of each lighter weight: the ledger counts per minute, so weight the head
cannot use this minute is lost to it anyway, and a lighter book that fits takes nothing from it.

**Books unsynced.** The schedule also keeps which books are out of sync (told by the StreamActors) and times the
*episode* from the first book that lost its sync to the moment none is out of sync: the time until every book is
synced, from start or after a mass drop.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tradeactors.booksync import edge_for

WEIGHT_TIERS = ((100, 5), (500, 25), (1000, 50), (5000, 250))
"""The largest ``limit`` of each weight of ``/api/v3/depth``, and that weight (Binance's table)."""
SPARE = 1.25
"""A book that came back whole is asked for again at a tier holding this many times its levels (it may grow)."""


def depth_weight(limit: int) -> int:
    """Weight of ``/api/v3/depth`` at ``limit``, as Binance documents it."""
    return next((weight for top, weight in WEIGHT_TIERS if limit <= top), WEIGHT_TIERS[-1][1])


def size_tiers(depth_limit: int, keep_levels: int) -> tuple[int, ...]:
    """The limits snapshots are taken at, smallest first: the top of each weight tier below ``depth_limit`` that
    leaves the book ``edge_for`` room above the ``keep_levels`` stored per second, then ``depth_limit``."""
    tiers = [top for top, _weight in WEIGHT_TIERS
             if top < depth_limit and edge_for(top, keep_levels) >= keep_levels + 10]
    return (*tiers, depth_limit)


def choose_limit(tiers: tuple[int, ...], last: tuple[int, int] | None, rebase: bool = False) -> int:
    """The limit for a symbol's next snapshot. ``last``: (levels of the fuller side, limit asked) of its previous
    snapshot, None if it has had none; ``rebase``: the book is synced and its price came near that snapshot's edge."""
    if last is None:
        return tiers[0]
    levels, asked = last
    if levels < asked:
        return next((tier for tier in tiers if levels * SPARE <= tier), tiers[-1])
    if rebase:
        return next((tier for tier in tiers if tier > asked), tiers[-1])
    return next((tier for tier in tiers if tier >= asked), tiers[-1])


class ActivityRate:
    """Events per minute, decayed exponentially with time constant ``tau`` seconds: recent activity counts most,
    and a symbol that went quiet fades within a few ``tau``. One multiply and one ``exp`` per update."""

    __slots__ = ("_at", "_since", "_value", "tau")

    def __init__(self, tau: float = 60.0):
        self.tau = tau
        self._value = 0.0
        self._at: float | None = None
        self._since: float | None = None

    def add(self, now: float, count: float) -> None:
        if self._since is None:
            self._since = now
        self._decay(now)
        self._value += count

    def observed_for(self, now: float) -> float:
        """Seconds since the first event: a rate measured over a few seconds says little yet."""
        return 0.0 if self._since is None else now - self._since

    def per_minute(self, now: float) -> float:
        self._decay(now)
        return self._value * 60.0 / self.tau

    def _decay(self, now: float) -> None:
        if self._at is not None and now > self._at:
            self._value *= math.exp((self._at - now) / self.tau)
        if self._at is None or now > self._at:
            self._at = now


@dataclass
class Pending:
    """A symbol waiting for a snapshot."""

    symbol: str
    max_limit: int
    """The most levels the book asked for (its ``depth_limit``)."""
    reason: str
    activity: float
    """Events per minute when asked (or last reported): the priority."""
    since: float
    """When it was first queued (monotonic seconds): ties go to the longest waiting."""
    not_before: float = 0.0
    """After a failed fetch: not again before this (monotonic seconds)."""
    failures: int = 0
    rebase: bool = False
    """The book is synced and asks because its price came near the edge of its snapshot: it needs more levels."""

    def order(self) -> tuple[float, float]:
        return -self.activity, self.since


@dataclass
class Episode:
    """From the first book out of sync to none out of sync."""

    started: float
    books: set[str] = field(default_factory=set)


class SnapshotSchedule:
    def __init__(self, depth_limit: int = 1000, keep_levels: int = 20, symbols: Iterable[str] = (),
                 now: float = 0.0):
        self.depth_limit = depth_limit
        self.tiers = size_tiers(depth_limit, keep_levels)
        self.queue: dict[str, Pending] = {}
        self.last_depth: dict[str, tuple[int, int]] = {}
        """Per symbol: (levels of the fuller side, limit asked) of its last snapshot."""
        self.activity: dict[str, float] = {}
        """Per symbol: the last activity reported, kept across its requests (a restarted StreamActor starts at 0)."""
        self.unsynced: dict[str, float] = {}
        """Books out of sync, and since when."""
        self.episode: Episode | None = None
        self.last_episode: tuple[float, int] | None = None
        """(seconds, books) of the last finished episode: the time until every book was synced."""
        for symbol in symbols:
            self.book_state(symbol, False, now)

    # --- what the books tell ----------------------------------------------------------------------------------

    def request(self, symbol: str, max_limit: int, reason: str, activity: float, now: float,
                rebase: bool = False) -> bool:
        """Queue ``symbol`` (or refresh it: same place in time, new reason and activity). True if newly queued.
        ``rebase``: the book is synced and its price came near the edge of its last snapshot."""
        if activity > 0:
            self.activity[symbol] = activity
        else:
            activity = self.activity.get(symbol, 0.0)
        pending = self.queue.get(symbol)
        if pending is not None:
            pending.max_limit, pending.reason, pending.activity = max_limit, reason, activity
            pending.rebase = pending.rebase and rebase  # a resync since: the book is gone, not near an edge
            return False
        self.queue[symbol] = Pending(symbol, max_limit, reason, activity, now, rebase=rebase)
        return True

    def report(self, symbol: str, activity: float) -> None:
        """A waiting book's activity now: it moves in the queue; a symbol not queued is only remembered. 0 (not
        measured long enough yet) changes nothing."""
        if activity <= 0:
            return
        self.activity[symbol] = activity
        pending = self.queue.get(symbol)
        if pending is not None:
            pending.activity = activity

    def book_state(self, symbol: str, synced: bool, now: float) -> tuple[float, int] | None:
        """A book lost or regained its sync. Returns (seconds, books) when this ends an episode: every book synced."""
        if not synced:
            if symbol not in self.unsynced:
                self.unsynced[symbol] = now
                if self.episode is None:
                    self.episode = Episode(now)
                self.episode.books.add(symbol)
            return None
        if self.unsynced.pop(symbol, None) is None:
            return None
        return self._episode_end(now)

    def forget(self, symbol: str, now: float) -> tuple[float, int] | None:
        """The symbol is no longer recorded: dropped from the queue and from the books out of sync."""
        self.queue.pop(symbol, None)
        self.activity.pop(symbol, None)
        self.last_depth.pop(symbol, None)
        if self.unsynced.pop(symbol, None) is None:
            return None
        if self.episode is not None:
            self.episode.books.discard(symbol)
        return self._episode_end(now)

    def _episode_end(self, now: float) -> tuple[float, int] | None:
        if self.unsynced or self.episode is None:
            return None
        ended = (now - self.episode.started, len(self.episode.books))
        self.episode, self.last_episode = None, ended
        return ended if ended[1] else None

    # --- what the worker does ---------------------------------------------------------------------------------

    def limit_for(self, pending: Pending) -> int:
        tiers = tuple(tier for tier in self.tiers if tier <= pending.max_limit) or (pending.max_limit,)
        return choose_limit(tiers, self.last_depth.get(pending.symbol), pending.rebase)

    def ordered(self) -> list[Pending]:
        return sorted(self.queue.values(), key=Pending.order)

    def take(self, reserve: Callable[[int], float], now: float) -> tuple[Pending, int] | float | None:
        """The request to fetch now and its limit, its weight reserved (it leaves the queue); otherwise the seconds
        until one may be fetched, or None when the queue is empty. ``reserve(weight)`` is the ledger's: it
        records the weight and returns 0 if it may be spent now, else the seconds to wait."""
        if not self.queue:
            return None
        wait = math.inf
        tried: set[int] = set()
        for pending in self.ordered():
            if pending.not_before > now:
                wait = min(wait, pending.not_before - now)
                continue
            limit = self.limit_for(pending)
            weight = depth_weight(limit)
            if weight in tried:
                continue
            delay = reserve(weight)
            if delay <= 0:
                del self.queue[pending.symbol]
                return pending, limit
            tried.add(weight)
            wait = min(wait, delay)
            if len(tried) == len(WEIGHT_TIERS):
                break
        return wait

    def fetched(self, symbol: str, levels: int, limit: int) -> None:
        """A snapshot of ``levels`` on its fuller side came back for ``limit``: sizes the next one."""
        self.last_depth[symbol] = (levels, limit)

    def failed(self, pending: Pending, retry_at: float) -> None:
        """The fetch failed: queued again with its place in time, not before ``retry_at``; a request that came
        for the symbol meanwhile keeps its newer reason and activity."""
        pending.failures += 1
        pending.not_before = retry_at
        newer = self.queue.get(pending.symbol)
        if newer is not None:
            pending.reason, pending.activity, pending.max_limit = newer.reason, newer.activity, newer.max_limit
            pending.rebase = newer.rebase
        self.queue[pending.symbol] = pending

    # --- what the status reports ------------------------------------------------------------------------------

    def queued_weight(self) -> int:
        return sum(depth_weight(self.limit_for(pending)) for pending in self.queue.values())

    def drain_seconds(self, used: int, limit: int, wall_now: float, per_request: float) -> float:
        """Estimated seconds until the queue is empty: the minutes of weight it needs beyond what is left in this
        one (the ledger counts per wall-clock minute), or one request after the other, whichever is longer."""
        weight, count = self.queued_weight(), len(self.queue)
        if not count:
            return 0.0
        room = max(0, limit - used)
        by_weight = 0.0
        if weight > room and limit > 0:
            minutes = math.ceil((weight - room) / limit)
            by_weight = (60.0 - wall_now % 60.0) + (minutes - 1) * 60.0
        return max(by_weight, count * per_request)

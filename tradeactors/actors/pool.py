"""Pooled actors: many pykka actors run by a few threads, each actor with its own mailbox, one message at a time.

Why. A ``pykka.ThreadingActor`` is a thread blocked on its queue; every tell wakes that thread. At 1,500 symbols
and 5,000 depth diffs a second that is thousands of thread wake-ups a second, and they cost more than the work
(measured in BENCHMARKS.md, "Pooled actors": 5,000 tells/s to 1,500 threading actors take 16 % user + 13 %
system of a core before any message is handled). A pooled actor's tell appends to its mailbox and, if the actor
is not already scheduled, puts the actor on the pool's run queue; a pool thread runs the actor's messages until
its mailbox is empty (or ``SLICE`` messages, for fairness) and moves on. A burst of tells from one reader drain
costs one wake-up of one pool thread.

What stays as in pykka (this subclasses ``pykka.Actor``, which is built for other concurrency models): each actor
has its own mailbox and handles one message at a time (an actor is on the run queue at most once, and only the
thread that took it off runs it); ``tell``/``ask``/``stop`` and ``ActorRef``, ``ThreadingFuture`` answers,
``on_start`` before the first message, ``on_stop``/``on_failure``, the registry. What differs: a handler must not
block for long (it holds a pool thread), and must never wait on another pooled actor's answer (the pool could be
busy with the very actors it waits for); the StreamActor's handlers only tell.
"""

from __future__ import annotations

import collections
import logging
import sys
import threading
from collections.abc import Iterable
from typing import Any

import pykka
from pykka._envelope import Envelope  # what ActorRef.tell puts in a mailbox; tell_many puts the same

log = logging.getLogger(__name__)

SLICE = 64
"""Messages one actor handles before the pool thread moves to the next ready actor (then it queues again)."""
POOL_THREADS = 2
"""One per core of the target machine; the GIL makes more pointless, and two keep one slow handler from holding
every actor back."""


class ActorPool:
    """Threads that run ready actors' mailboxes. Started on first use; its threads are daemons (each actor's
    stop is still orderly: the Supervisor stops actors, and a stop is a message like any other)."""

    def __init__(self, threads: int = POOL_THREADS, name: str = "ActorPool"):
        self.size = threads
        self.name = name
        self._ready: collections.deque[PooledActor] = collections.deque()
        self._cond = threading.Condition(threading.Lock())
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self.slices = 0
        """Slices run so far (an actor taken off the run queue and run): the wake-ups the pool paid."""

    def schedule(self, actor: PooledActor) -> None:
        self.schedule_many((actor,))

    def schedule_many(self, actors: Iterable[PooledActor]) -> None:
        """Queue actors that have messages (each idle until now): one lock round and one wake-up for all."""
        with self._cond:
            self._ready.extend(actors)
            if self._idle:
                self._cond.notify(self._idle)
            if len(self._threads) < self.size and not self._idle:
                thread = threading.Thread(target=self._run, name=f"{self.name}-{len(self._threads)}", daemon=True)
                self._threads.append(thread)
                thread.start()

    def _run(self) -> None:
        ready, cond = self._ready, self._cond
        while True:
            with cond:
                while not ready:
                    self._idle += 1
                    cond.wait()
                    self._idle -= 1
                actor = ready.popleft()
            self.slices += 1
            try:
                actor._run_slice()
            except BaseException:  # a bug in the slice itself, never in a handler: keep the pool thread
                log.exception("pooled actor %s failed outside its handlers", actor)


def tell_many(deliveries: Iterable[tuple[pykka.ActorRef, Any]]) -> int:
    """Tell each actor its message (dead ones are skipped); pooled actors that were idle are scheduled together, one
    hand-over per pool: a reader's drain tells hundreds of StreamActors at once. Returns how many were told."""
    ready: dict[ActorPool, list[PooledActor]] = {}
    told = 0
    for ref, message in deliveries:
        if not ref.is_alive():
            continue
        inbox = ref.actor_inbox
        if isinstance(inbox, PooledInbox):
            if inbox.deliver(Envelope(message)):
                actor = inbox._actor
                ready.setdefault(actor._runner, []).append(actor)
        else:
            try:
                ref.tell(message)
            except pykka.ActorDeadError:
                continue
        told += 1
    for pool, actors in ready.items():
        pool.schedule_many(actors)
    return told


_default_pool: ActorPool | None = None
_default_lock = threading.Lock()


def default_pool() -> ActorPool:
    global _default_pool
    with _default_lock:
        if _default_pool is None:
            _default_pool = ActorPool()
        return _default_pool


class PooledInbox:
    """A mailbox that schedules its actor on the pool when a message arrives for an idle actor."""

    def __init__(self, actor: PooledActor):
        self._actor = actor
        self._queue: collections.deque[Any] = collections.deque()
        self._lock = threading.Lock()
        self.scheduled = True
        """True while the actor is on the run queue or running (it starts so: ``start`` schedules it once)."""

    def put(self, envelope: Any) -> None:
        if self.deliver(envelope):
            self._actor._runner.schedule(self._actor)

    def deliver(self, envelope: Any) -> bool:
        """Append; True if the actor was idle and must now be scheduled (by the caller)."""
        with self._lock:
            self._queue.append(envelope)
            if self.scheduled:
                return False
            self.scheduled = True
            return True

    def take(self) -> Any | None:
        """The next envelope, or None after marking the actor idle (the next ``put`` schedules it)."""
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            self.scheduled = False
            return None

    def get(self) -> Any:
        return self._queue.popleft()  # pykka's teardown calls it only while not empty

    def empty(self) -> bool:
        return not self._queue

    def qsize(self) -> int:
        return len(self._queue)


class PooledActor(pykka.Actor):
    """A pykka actor run by an ``ActorPool`` instead of a thread of its own (subclass it like ThreadingActor)."""

    pool: ActorPool | None = None
    """The pool that runs this actor; the process-wide ``default_pool()`` unless a subclass sets another."""
    thread_name = "Pooled"

    def _create_actor_inbox(self) -> PooledInbox:  # type: ignore[override]
        self._runner: ActorPool = self.pool or default_pool()
        return PooledInbox(self)

    @staticmethod
    def _create_future() -> pykka.Future[Any]:
        return pykka.ThreadingFuture()

    def _start_actor_loop(self) -> None:
        self._set_up = False
        self._runner.schedule(self)  # the first slice runs on_start

    def _run_slice(self) -> None:
        # Log lines name the actor, as a thread of its own would (the name stays until the next slice).
        threading.current_thread().name = self.thread_name
        if not self._set_up:
            self._set_up = True
            self._actor_loop_setup()
        inbox: PooledInbox = self.actor_inbox  # type: ignore[assignment]
        for _ in range(SLICE):
            if self.actor_stopped.is_set():
                self._actor_loop_teardown()
                return  # stays "scheduled": a dead actor is never run again
            envelope = inbox.take()
            if envelope is None:
                return
            self._handle_envelope(envelope)
        if self.actor_stopped.is_set():
            self._actor_loop_teardown()
            return
        self._runner.schedule(self)  # more to do: queue again behind the others

    def _handle_envelope(self, envelope: Any) -> None:
        """One message, handled as pykka's own loop handles it (``Actor._actor_loop_running``)."""
        try:
            response = self._handle_receive(envelope.message)
            if envelope.reply_to is not None:
                envelope.reply_to.set(response)
        except Exception:
            if envelope.reply_to is not None:
                log.info("Exception returned from %s to caller:", self, exc_info=sys.exc_info())
                envelope.reply_to.set_exception()
            else:
                self._handle_failure(*sys.exc_info())
                try:
                    self.on_failure(*sys.exc_info())
                except Exception:
                    self._handle_failure(*sys.exc_info())
        except BaseException:
            log.debug("%r in %s. Stopping all actors.", sys.exc_info()[1], self)
            self._stop()
            pykka.ActorRegistry.stop_all()

"""Pooled actors keep pykka's promises on a few shared threads: each actor's messages in order and one at a time,
on_start first, asks answered, a failure handled like a ThreadingActor's, stop after what was sent before it."""

from __future__ import annotations

import threading

import pykka
import pytest

from tests.helpers import wait_for
from tradeactors.actors.pool import SLICE, ActorPool, PooledActor, tell_many


class Recorder(PooledActor):
    pool = ActorPool(threads=2, name="TestPool")

    def __init__(self, log: list, fail_on=None):
        super().__init__()
        self.log = log
        self.fail_on = fail_on
        self.busy = threading.Lock()
        self.started = False
        self.failed = None

    def on_start(self):
        self.started = True

    def on_receive(self, message):
        if not self.busy.acquire(blocking=False):
            raise AssertionError("two messages of one actor handled at once")
        try:
            assert self.started, "a message before on_start"
            if message == self.fail_on:
                raise RuntimeError("boom")
            if message == "ask":
                return len(self.log)
            self.log.append(message)
        finally:
            self.busy.release()

    def on_failure(self, exception_type, exception_value, traceback):
        self.failed = exception_value

    def on_stop(self):
        self.log.append("stopped")


@pytest.fixture(autouse=True)
def _stop_actors():
    yield
    pykka.ActorRegistry.stop_all(block=True, timeout=5)


def test_many_actors_get_every_message_in_order_one_at_a_time_on_two_threads():
    logs = [[] for _ in range(300)]
    refs = [Recorder.start(log) for log in logs]
    senders = []
    for part in range(3):  # three threads tell at once, each its own range of numbers, in order
        def send(part=part):
            for n in range(part * 1000, part * 1000 + 200):
                for ref in refs:
                    ref.tell(n)
        senders.append(threading.Thread(target=send))
    for thread in senders:
        thread.start()
    for thread in senders:
        thread.join()
    assert [ref.ask("ask", timeout=10) for ref in refs] == [600] * 300
    for log in logs:
        for part in range(3):
            mine = [n for n in log if part * 1000 <= n < part * 1000 + 1000]
            assert mine == list(range(part * 1000, part * 1000 + 200))  # each sender's order kept
    assert len(Recorder.pool._threads) <= 2
    assert threading.active_count() < 50  # not a thread per actor


def test_a_busy_actor_yields_its_thread_after_a_slice():
    gate = threading.Event()
    log: list = []

    class Slow(PooledActor):
        pool = ActorPool(threads=1, name="OneThread")

        def on_receive(self, message):
            if message == "block":
                gate.wait(5)
            log.append(message)

    busy, other = Slow.start(), Slow.start()
    for _ in range(SLICE * 3):
        busy.tell("busy")
    other.tell("other")
    gate.set()
    wait_for(lambda: "other" in log, timeout=5, message="the other actor ran")
    assert log.index("other") <= SLICE  # it did not wait for all of the busy actor's messages


def test_a_failure_calls_on_failure_and_kills_only_that_actor_and_an_ask_gets_the_exception():
    log: list = []
    failing, healthy = Recorder.start(log, fail_on="bad"), Recorder.start([])
    with pytest.raises(RuntimeError, match="boom"):
        failing.ask("bad", timeout=5)  # an ask gets the exception, the actor lives on
    assert failing.is_alive()
    failing.tell("bad")
    wait_for(lambda: not failing.is_alive(), timeout=5, message="the failing actor dead")
    assert healthy.ask("ask", timeout=5) == 0
    with pytest.raises(pykka.ActorDeadError):
        failing.tell("after")


def test_stop_runs_after_what_was_sent_before_it_and_on_stop_runs():
    log: list = []
    ref = Recorder.start(log)
    for n in range(500):
        ref.tell(n)
    ref.stop(block=True, timeout=10)
    assert log == [*range(500), "stopped"] and not ref.is_alive()


def test_tell_many_delivers_in_order_with_single_tells_and_skips_dead_actors():
    logs = [[] for _ in range(50)]
    refs = [Recorder.start(log) for log in logs]
    refs[7].stop(block=True, timeout=5)
    for n in range(20):
        if n != 7:
            refs[n].tell(("single", n))
        told = tell_many([(ref, ("many", n)) for ref in refs])
        assert told == 49  # the stopped one is skipped
    assert [ref.ask("ask", timeout=10) for i, ref in enumerate(refs) if i != 7]
    for i, log in enumerate(logs):
        if i == 7:
            assert log == ["stopped"]
            continue
        many = [n for kind, n in log if kind == "many"]
        assert many == list(range(20))  # every actor got each, in order
        singles = [n for kind, n in log if kind == "single"]
        if singles:  # a single tell sent before the n-th tell_many is handled before it
            assert log.index(("single", singles[0])) < log.index(("many", singles[0]))

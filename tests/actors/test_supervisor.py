import threading

import pykka
import pytest

from tests.helpers import wait_for
from tradeactors.actors.directory import Directory
from tradeactors.actors.messages import GetStatus
from tradeactors.actors.supervisor import ActorSpec, Supervisor
from tradeactors.metrics import Metrics

events: list[str] = []


class Recorder(pykka.ThreadingActor):
    def __init__(self, name, fail_on_start=False):
        super().__init__()
        self.name = name
        self.fail_on_start = fail_on_start

    def on_start(self):
        if self.fail_on_start:
            raise RuntimeError("boom in on_start")
        events.append(f"start {self.name}")

    def on_stop(self):
        events.append(f"stop {self.name}")

    def on_receive(self, message):
        if message == "crash":
            raise RuntimeError("boom in a tell")
        if isinstance(message, GetStatus):
            return {}


@pytest.fixture(autouse=True)
def clean():
    events.clear()
    yield
    pykka.ActorRegistry.stop_all(block=True, timeout=5)


def make(directory=None, **kwargs):
    directory = directory or Directory()
    kwargs.setdefault("poll_interval", 0.02)
    kwargs.setdefault("backoff_initial", 0.01)
    return directory, Supervisor(directory, Metrics(), **kwargs)


def test_starts_in_order_and_stops_in_reverse():
    _, sup = make()
    sup.start([ActorSpec(n, lambda n=n: Recorder.start(n)) for n in ("a", "b", "c")])
    sup.stop()
    assert events == ["start a", "start b", "start c", "stop c", "stop b", "stop a"]


def test_actor_that_fails_in_on_start_fails_start_up():
    _, sup = make()
    with pytest.raises(RuntimeError, match="b failed to start"):
        sup.start([ActorSpec("a", lambda: Recorder.start("a")), ActorSpec("b", lambda: Recorder.start("b", True))])


def test_crashed_actor_is_restarted_and_reachable_under_the_same_name():
    directory, sup = make()
    sup.start([ActorSpec("a", lambda: Recorder.start("a"))])
    first = directory.get("a")
    directory.tell("a", "crash")
    wait_for(lambda: sup.status()["a"]["restarts"] == 1, message="restart")
    assert directory.get("a") is not first and directory.get("a").is_alive()
    assert directory.ask("a", GetStatus(), timeout=1) == {}
    sup.stop()


def test_actor_dying_in_on_start_during_restart_is_noticed_by_polling():
    attempts = []

    def start():
        attempts.append(1)
        return Recorder.start("a", fail_on_start=len(attempts) in (2, 3))

    directory, sup = make()
    sup.start([ActorSpec("a", start)])
    directory.tell("a", "crash")
    wait_for(lambda: sup.status()["a"]["alive"] and sup.status()["a"]["restarts"] == 1, message="recovery")
    assert len(attempts) == 4
    sup.stop()


def test_too_many_restarts_in_the_window_escalate():
    escalated = threading.Event()
    directory, sup = make(max_restarts=2, window=60, on_escalate=lambda reason: escalated.set())
    sup.start([ActorSpec("a", lambda: Recorder.start("a"))])
    for _ in range(3):
        restarts = sup.status()["a"]["restarts"]
        directory.tell("a", "crash")
        wait_for(lambda before=restarts: sup.status()["a"]["restarts"] > before or escalated.is_set(),
                 message="restart")
    assert escalated.wait(5)
    assert "restarts within" in sup.escalated
    sup.stop()

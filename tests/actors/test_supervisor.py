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


def test_an_actor_added_while_running_is_supervised_and_stopped_first():
    directory, sup = make()
    sup.start([ActorSpec("a", lambda: Recorder.start("a"))])
    sup.add(ActorSpec("b", lambda: Recorder.start("b")))
    directory.tell("b", "crash")
    wait_for(lambda: sup.status()["b"]["restarts"] == 1 and sup.status()["b"]["alive"], message="b restarted")
    with pytest.raises(RuntimeError, match="already running"):
        sup.add(ActorSpec("b", lambda: Recorder.start("b")))
    sup.stop()
    assert events[-2:] == ["stop b", "stop a"]
    with pytest.raises(RuntimeError, match="stopping"):
        sup.add(ActorSpec("c", lambda: Recorder.start("c")))


def test_an_added_actor_that_fails_in_on_start_is_not_kept():
    _, sup = make()
    sup.start([])
    with pytest.raises(RuntimeError, match="b failed to start"):
        sup.add(ActorSpec("b", lambda: Recorder.start("b", True)))
    assert "b" not in sup.status()
    sup.stop()


def test_a_retired_actor_is_stopped_after_its_mailbox_and_never_restarted():
    directory, sup = make()
    sup.start([ActorSpec("a", lambda: Recorder.start("a")), ActorSpec("b", lambda: Recorder.start("b"))])
    ref = directory.get("b")
    assert sup.retire("b") and not sup.retire("b")
    assert not ref.is_alive() and directory.get("b") is None and "b" not in sup.status()
    assert events[-1] == "stop b"
    rounds = sup.watch_rounds
    wait_for(lambda: sup.watch_rounds >= rounds + 5, message="five watcher rounds")
    assert directory.get("b") is None and sup.status() == {"a": {"alive": True, "restarts": 0}}
    sup.stop()
    assert events.count("start b") == 1


def test_an_actor_found_dead_while_being_retired_is_not_restarted():
    directory, sup = make(poll_interval=0.001)
    sup.start([ActorSpec("a", lambda: Recorder.start("a"))])
    for round_ in range(20):  # the watcher races each retire: it must never bring the actor back
        name = f"s{round_}"
        sup.add(ActorSpec(name, lambda name=name: Recorder.start(name)))
        sup.retire(name)
    rounds = sup.watch_rounds
    wait_for(lambda: sup.watch_rounds >= rounds + 5, message="five watcher rounds")
    assert set(sup.status()) == {"a"} and sup.status()["a"]["restarts"] == 0
    assert [n for n in directory.names() if n != "a"] == []
    assert not any(e.startswith("start s") and events.count(e) > 1 for e in events)
    sup.stop()

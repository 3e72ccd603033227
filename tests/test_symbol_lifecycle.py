"""SymbolLifecycle with a real Supervisor and Directory and small actors that note what reaches them, in order."""

import pykka
import pytest

from tests.helpers import wait_for
from tradeactors.actors.directory import Directory
from tradeactors.actors.messages import GetStatus, SymbolsChanged
from tradeactors.actors.supervisor import ActorSpec, Supervisor
from tradeactors.metrics import Metrics
from tradeactors.symbol_lifecycle import SYMBOL_STATE_ACTORS, SymbolLifecycle

events: list[str] = []


class Noting(pykka.ThreadingActor):
    """Notes its start, stop and every SymbolsChanged; a stream greets every stateful actor as it starts (as a
    StreamActor's first trades would reach the buffer)."""

    def __init__(self, name, directory=None):
        super().__init__()
        self.name = name
        self.directory = directory

    def on_start(self):
        events.append(f"start {self.name}")
        if self.directory is not None:
            for name in SYMBOL_STATE_ACTORS:
                self.directory.tell(name, f"hello from {self.name}")

    def on_stop(self):
        events.append(f"stop {self.name}")

    def on_receive(self, message):
        if isinstance(message, str):
            events.append(f"{self.name} {message}")
        if isinstance(message, SymbolsChanged):
            events.append(f"{self.name} +{','.join(message.added)} -{','.join(message.removed)} "
                          f"known {','.join(message.known)}")
        return {} if isinstance(message, GetStatus) else None


@pytest.fixture
def lifecycle():
    events.clear()
    directory, metrics = Directory(), Metrics()
    supervisor = Supervisor(directory, metrics, poll_interval=0.02)
    supervisor.start([ActorSpec(name, lambda name=name: Noting.start(name)) for name in SYMBOL_STATE_ACTORS])
    life = SymbolLifecycle(supervisor, directory, metrics, lambda symbol: ActorSpec(
        f"stream:{symbol}", lambda: Noting.start(f"stream:{symbol}", directory)))
    life.remember(["OLDUSDT"])
    events.clear()
    yield life
    supervisor.stop()
    pykka.ActorRegistry.stop_all(block=True, timeout=5)


def test_a_new_symbol_is_told_to_every_stateful_actor_before_its_stream_starts(lifecycle):
    lifecycle.change(["BTCUSDT"], reason="start")
    assert lifecycle.recording == ("BTCUSDT",) and lifecycle.known == ("BTCUSDT", "OLDUSDT")
    wait_for(lambda: len(events) == 1 + len(SYMBOL_STATE_ACTORS) * 2, message="every actor told and greeted")
    for name in SYMBOL_STATE_ACTORS:
        mine = [e for e in events if e.startswith(f"{name} ")]
        assert mine == [f"{name} +BTCUSDT - known BTCUSDT,OLDUSDT", f"{name} hello from stream:BTCUSDT"], mine
    assert lifecycle.metrics.value("tradeactors_symbols_recording") == 1


def test_a_symbol_that_leaves_is_retired_then_told_and_stays_known(lifecycle):
    lifecycle.change(["BTCUSDT", "ETHUSDT"])
    # Two streams started, each actor told once and greeted by both: all of it in before the next change.
    wait_for(lambda: len(events) == 2 + len(SYMBOL_STATE_ACTORS) * 3, message="the first change settled")
    events.clear()
    lifecycle.change(["BTCUSDT"], statuses={"ETHUSDT": "BREAK", "BTCUSDT": "TRADING"}, reason="refresh")
    assert events[0] == "stop stream:ETHUSDT", "the stream stops before anyone is told"
    wait_for(lambda: len(events) == 1 + len(SYMBOL_STATE_ACTORS), message="every actor told")
    assert sorted(events[1:]) == sorted(f"{name} + -ETHUSDT known BTCUSDT,ETHUSDT,OLDUSDT"
                                        for name in SYMBOL_STATE_ACTORS)
    assert lifecycle.recording == ("BTCUSDT",) and lifecycle.history_only == ["ETHUSDT", "OLDUSDT"]
    assert "stream:ETHUSDT" not in lifecycle.supervisor.status()
    assert lifecycle.metrics.value("tradeactors_symbols_stopped_total") == 1


def test_no_symbol_starts_once_the_service_is_closing(lifecycle):
    lifecycle.close()
    lifecycle.change(["BTCUSDT"])
    assert lifecycle.recording == () and "stream:BTCUSDT" not in lifecycle.supervisor.status()
    wait_for(lambda: len(events) == 2 * len(SYMBOL_STATE_ACTORS), message="added, then taken back")
    assert all(e.endswith("+ -BTCUSDT known OLDUSDT") for e in events if " -BTCUSDT" in e)

"""The StorageActor's queue of failed writes: bounded by items, oldest dropped first, written back in order."""

from tradeactors.actors.messages import StoreTrades
from tradeactors.actors.storage import PendingWrites


def flush(symbol, n):
    return StoreTrades(symbol, [object()] * n, 0, "live")


def test_past_the_bound_the_oldest_flushes_are_dropped_and_reported():
    dropped = []
    pending = PendingWrites(10, lambda m: len(m.trades), dropped.append)
    first, second, third = flush("A", 4), flush("B", 4), flush("C", 4)
    for message in (first, second, third):
        pending.keep(message)
    assert dropped == [first] and list(pending.messages) == [second, third] and pending.count == 8


def test_a_flush_larger_than_the_bound_is_still_kept_alone():
    dropped = []
    pending = PendingWrites(10, lambda m: len(m.trades), dropped.append)
    small, huge = flush("A", 1), flush("B", 50)
    pending.keep(small)
    pending.keep(huge)
    assert dropped == [small] and list(pending.messages) == [huge] and pending.count == 50


def test_written_back_oldest_first_until_a_write_fails():
    pending = PendingWrites(100, lambda m: len(m.trades), lambda m: None)
    messages = [flush(s, 2) for s in "ABC"]
    for message in messages:
        pending.keep(message)
    written = []

    def write(message):
        if message.symbol == "C":
            return False  # storage failed again
        written.append(message)
        return True

    assert pending.write(write) is False
    assert written == messages[:2] and list(pending.messages) == messages[2:] and pending.count == 2
    assert pending.write(lambda m: True) is True and not pending and pending.count == 0

"""Binance's request weights and the per-minute weight ledger: 429, then the 418 ban, on explicit times."""
from tradeactors.simulator.weights import WeightLedger, depth_weight


def test_depth_weight_steps_at_100_500_1000():
    assert [depth_weight(n) for n in (1, 100, 101, 500, 501, 1000, 1001, 5000)] == [5, 5, 25, 25, 50, 50, 250, 250]


def test_weight_ledger_refuses_over_budget_with_429_then_bans_with_418():
    ledger = WeightLedger(budget=10, ban_seconds=120)
    t = 60 * 1000 + 5.0
    assert ledger.charge(5, t).status == 200
    assert ledger.charge(5, t).status == 200
    over = ledger.charge(5, t + 1)
    assert over.status == 429 and over.retry_after == 54 and over.used == 10
    banned = ledger.charge(1, t + 2)
    assert banned.status == 418 and banned.retry_after == 120
    # The ban outlives the minute; the budget does not.
    assert ledger.charge(1, t + 70).status == 418
    assert ledger.charge(1, t + 200) == (200, 1, None)


def test_weight_ledger_resets_each_wall_clock_minute():
    ledger = WeightLedger(budget=10)
    assert ledger.charge(10, 119.0).status == 200
    assert ledger.charge(1, 119.5).status == 429
    assert ledger.charge(1, 120.0) == (200, 1, None)


def test_new_budget_lifts_a_ban():
    ledger = WeightLedger(budget=1)
    ledger.charge(1, 0.0), ledger.charge(1, 0.0), ledger.charge(1, 0.0)
    ledger.set_budget(100)
    assert ledger.charge(1, 1.0).status == 200

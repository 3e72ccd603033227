"""The synthetic market without sockets: book shape, trades, update ids, depth diffs that rebuild its true book."""
import itertools
import json
from decimal import Decimal

from tradeactors.simulator.symbols import spec_for, units
from tradeactors.simulator.synthetic import SyntheticMarket


def run(market, orders, now=1_700_000_000_000):
    out = []
    for _ in range(orders):
        market.taker_order(now, out)
    market.commit()
    return [json.loads(t) for t in out]


def apply(book, diff):
    for side, key in ((book[0], "b"), (book[1], "a")):
        for p, q in diff[key]:
            if Decimal(q) == 0:
                side.pop(p, None)
            else:
                side[p] = q


def test_same_seed_gives_the_same_market():
    a = run(SyntheticMarket(spec_for("BTCUSDT"), seed=7), 500)
    b = run(SyntheticMarket(spec_for("BTCUSDT"), seed=7), 500)
    c = run(SyntheticMarket(spec_for("BTCUSDT"), seed=8), 500)
    assert a == b and a != c


def test_trades_have_contiguous_ids_and_raw_id_ranges_on_the_grids():
    market = SyntheticMarket(spec_for("ETHUSDT"), seed=1)
    trades = run(market, 3000)
    assert [t["a"] for t in trades] == list(range(trades[0]["a"], trades[0]["a"] + len(trades)))
    for prev, t in itertools.pairwise(trades):
        assert t["f"] == prev["l"] + 1 and t["l"] >= t["f"]
    spec = market.spec
    assert all(units(t["p"]) % spec.tick == 0 and units(t["q"]) % spec.step == 0 and units(t["q"]) > 0
               for t in trades)
    assert {t["m"] for t in trades} == {True, False}


def test_book_stays_two_sided_deep_and_never_crossed():
    market = SyntheticMarket(spec_for("BTCUSDT"), seed=3)
    for _ in range(20):
        run(market, 2000)
        assert market.bid_px[-1] < market.ask_px[0]
        assert len(market.bid_px) > 150 and len(market.ask_px) > 150


def test_depth_diffs_chain_and_rebuild_the_true_book():
    market = SyntheticMarket(spec_for("BTCUSDT"), seed=5)
    uid, bids, asks = market.snapshot(5000)
    book = (dict(bids), dict(asks))
    prev_u = uid
    for _ in range(30):
        run(market, 50)
        diff = json.loads(market.depth_diff(1))
        assert diff["U"] == prev_u + 1
        prev_u = diff["u"]
        apply(book, diff)
        true_bids, true_asks = market.book.book_at(diff["u"])
        assert sorted(book[0].items(), key=lambda x: -Decimal(x[0])) == true_bids
        assert sorted(book[1].items(), key=lambda x: Decimal(x[0])) == true_asks


def test_a_jump_moves_the_price():
    market = SyntheticMarket(spec_for("BTCUSDT"), seed=4)
    run(market, 200)
    before = market.mid
    market.set_regime(jump=2000)
    run(market, 3000)
    assert market.mid > before + 500 * market.tick

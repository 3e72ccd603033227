"""The ground-truth book ledger: the book at any past update id, across its checkpoints."""
from tradeactors.simulator.ledger import BookLedger
from tradeactors.simulator.symbols import spec_for
from tradeactors.simulator.synthetic import SyntheticMarket


def run(market, orders, now=1_700_000_000_000):
    """``orders`` taker orders, then the commit that gives them their update id."""
    for _ in range(orders):
        market.taker_order(now, [])
    market.commit()


def test_book_ledger_answers_any_past_update_id_across_checkpoints():
    BookLedger.CHECKPOINT, saved = 500, BookLedger.CHECKPOINT
    try:
        market = SyntheticMarket(spec_for("BTCUSDT"), seed=2)
        history = {}
        for _ in range(40):
            run(market, 30)
            history[market.uid] = market.snapshot(10_000)
        for uid, (_, bids, asks) in history.items():
            assert market.book.book_at(uid) == ([tuple(x) for x in bids], [tuple(x) for x in asks])
    finally:
        BookLedger.CHECKPOINT = saved

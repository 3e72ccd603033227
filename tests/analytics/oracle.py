"""An independent reference for ``order_flow``'s book measures, written from the papers, not from our code.

- OFI (Cont, Kukanov & Stoikov, "The price impact of order book events", J. Financial Econometrics 2014, eq. 10 in
  its piecewise form): between consecutive observations n−1, n of the best bid (P^b, q^b) and best ask (P^a, q^a)

      bid part = q^b_n            if P^b_n > P^b_{n−1}      ask part = −q^a_n            if P^a_n < P^a_{n−1}
                 q^b_n − q^b_{n−1} if P^b_n = P^b_{n−1}                 −(q^a_n − q^a_{n−1}) if P^a_n = P^a_{n−1}
                 −q^b_{n−1}       if P^b_n < P^b_{n−1}                  q^a_{n−1}          if P^a_n > P^a_{n−1}

  and OFI over a window is the sum of e_n = bid part + ask part over its consecutive observations. Our
  observations are the stored book seconds in time order; a pair where either book second has an empty side has
  no best quote to compare and adds nothing.
- Depth imbalance: (ΣQ^b − ΣQ^a)/(ΣQ^b + ΣQ^a) over the top ``levels`` of each side; the time-weighted mean gives
  each book second the time until the next one.

Values are exact ``Decimal``s (prices and sizes as the exchange writes them), so equality is exact.
"""

from __future__ import annotations

import itertools
from decimal import Decimal

from tradeactors.records import BookSecond


def _value(scaled: int, decimals: int) -> Decimal:
    return Decimal(int(scaled)).scaleb(-decimals)


def best(book: BookSecond) -> tuple[Decimal, Decimal, Decimal, Decimal] | None:
    """(bid price, bid size, ask price, ask size), or None when a side is empty."""
    if not len(book.bids) or not len(book.asks):
        return None
    (pb, qb), (pa, qa) = book.bids[0].tolist(), book.asks[0].tolist()
    p, q = book.price_decimals, book.qty_decimals
    return _value(pb, p), _value(qb, q), _value(pa, p), _value(qa, q)


def ofi_event(before, now) -> Decimal:
    pb0, qb0, pa0, qa0 = before
    pb, qb, pa, qa = now
    if pb > pb0:
        bid = qb
    elif pb == pb0:
        bid = qb - qb0
    else:
        bid = -qb0
    if pa < pa0:
        ask = -qa
    elif pa == pa0:
        ask = -(qa - qa0)
    else:
        ask = qa0
    return bid + ask


def ofi(books: list[BookSecond]) -> Decimal:
    total = Decimal(0)
    for before, now in itertools.pairwise(books):
        a, b = best(before), best(now)
        if a is not None and b is not None:
            total += ofi_event(a, b)
    return total


def depth_imbalance(book: BookSecond, levels: int) -> float | None:
    bid = sum((_value(q, book.qty_decimals) for q in book.bids[:levels, 1].tolist()), Decimal(0))
    ask = sum((_value(q, book.qty_decimals) for q in book.asks[:levels, 1].tolist()), Decimal(0))
    return float((bid - ask) / (bid + ask)) if bid + ask > 0 else None


def depth_imbalance_time_weighted(books: list[BookSecond], levels: int) -> float | None:
    weighted, total = Decimal(0), 0
    for book, following in itertools.pairwise(books):
        value = depth_imbalance(book, levels)
        if value is not None:
            weighted += Decimal(value) * (following.second - book.second)
            total += following.second - book.second
    return float(weighted / total) if total else None

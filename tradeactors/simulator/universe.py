"""A whole spot market: about as many symbols as Binance lists, realistic names, prices, filters and activity.

Pure and seeded: :func:`market_specs` gives the symbols (each a :class:`SymbolSpec`), most active first, and
:func:`activity` how busy each one is. Nothing here touches sockets or clocks.

Names: real base assets first (BTC, ETH, SOL, ... in about their market-cap order, busiest pairs first, the other
real pairs shuffled), then, for the quiet tail, made-up tickers built from syllables. Each base is listed against
a seeded choice of quote assets in Binance's rough proportions (USDT for every base; USDC, BTC, TRY, FDUSD, ETH,
BNB, EUR, BRL, JPY for some), so that ``quote_assets`` filters have a realistic mix to pick from. A pair whose
price would have fewer than five significant digits in its quote (a cheap coin against BTC) is not listed, as on
Binance.

Prices and filters: a base's dollar price (known for the majors, log-uniform from $0.0001 to $100 otherwise) in
the quote's terms; tick = five significant digits of that price; step = a hundredth of a typical order (~$200),
at most 1 whole unit and at least 1e-8.

Activity (:func:`activity`): symbol *i* (0 = busiest) gets a share of all trades proportional to
``1 / (i + 1) ** TRADE_EXPONENT`` (Zipf). With 1,500 symbols and 1,500 aggTrades/s in all that is ~340/s for the
first, ~150/s for the second and well under one trade a second for the median symbol, as on Binance. Makers
requote quiet books too, so book changes that are not trades follow a flatter Zipf (``MAKER_EXPONENT``), scaled so
that the expected number of depth diffs per second (a symbol sends one per 100 ms in which its book moved)
matches the caller's ``depth_rate``.
"""
from __future__ import annotations

import dataclasses
import itertools
import math
import random
from typing import NamedTuple

from .symbols import KNOWN, UNIT, SymbolSpec

TRADE_EXPONENT = 1.2
"""Zipf exponent of the aggTrade rates by rank."""
MAKER_EXPONENT = 0.7
"""Zipf exponent of the background maker changes by rank (flatter: quiet books are requoted too)."""
AGG_PER_ORDER = 1.05
"""aggTrades per taker order of the synthetic market (measured: most orders fill within the best level)."""
BOOK_CHANGES_PER_ORDER = 2.0
"""Book changes per taker order: the fill itself plus the maker reaction (``SyntheticMarket.churn`` = 1)."""
DEPTH_INTERVAL = 0.1
"""``@depth@100ms``: one diff per symbol per interval in which its book changed."""

# Base assets in about their market-cap order, with a dollar price for the best known.
MAJORS = {"BTC": "60000", "ETH": "3000", "BNB": "550", "SOL": "150", "XRP": "0.5", "DOGE": "0.12",
          "TON": "6", "ADA": "0.4", "TRX": "0.12", "AVAX": "30", "SHIB": "0.00002", "DOT": "6", "LINK": "13",
          "BCH": "380", "NEAR": "5", "LTC": "70", "MATIC": "0.5", "UNI": "7", "ICP": "9", "PEPE": "0.00001",
          "APT": "7", "ETC": "20", "FET": "1.3", "STX": "1.8", "FIL": "4", "ATOM": "6", "ARB": "0.6", "OP": "1.6",
          "INJ": "20", "IMX": "1.3", "HBAR": "0.06", "VET": "0.025", "RNDR": "6", "SUI": "1", "WIF": "2",
          "GRT": "0.15", "AAVE": "100", "MKR": "2500", "ALGO": "0.13", "TIA": "5", "SEI": "0.3", "FTM": "0.5"}
OTHER_BASES = (
    "RUNE", "QNT", "EGLD", "SAND", "MANA", "AXS", "THETA", "FLOW", "XTZ", "CHZ", "EOS", "KAVA", "NEO",
    "IOTA", "ZEC", "DASH", "XLM", "JASMY", "GALA", "LDO", "CRV", "SNX", "COMP", "YFI", "SUSHI", "1INCH",
    "ENJ", "BAT", "ZIL", "ONE", "HOT", "ICX", "QTUM", "ONT", "WAVES", "ZRX", "KSM", "CELO", "ROSE", "ANKR",
    "AR", "GMX", "DYDX", "BLUR", "JTO", "PYTH", "JUP", "BONK", "FLOKI", "ORDI", "SATS", "ENS", "LRC",
    "MASK", "API3", "BAND", "RLC", "STORJ", "SKL", "CKB", "IOTX", "CFX", "ACH", "AGIX", "OCEAN", "WOO",
    "BICO", "MINA", "KDA", "GLM", "RVN", "SC", "DGB", "LSK", "ARDR", "STEEM", "HIVE", "SXP", "TWT", "C98",
    "ALPHA", "PERP", "SFP", "DODO", "REEF", "TLM", "ALICE", "DAR", "HIGH", "PEOPLE", "ACE", "XAI", "MANTA",
    "ALT", "PIXEL", "PORTAL", "AEVO", "ETHFI", "ENA", "W", "TNSR", "SAGA", "REZ", "BB", "NOT", "IO", "ZK",
    "LISTA", "ZRO", "BANANA", "RENDER", "TAO", "CATI", "HMSTR", "EIGEN", "SCR", "COW", "CETUS", "PNUT",
    "ACT", "USUAL", "THE", "MOVE", "ME", "VANA", "PENGU", "BIO", "AIXBT", "CGPT", "COOKIE", "S", "SOLV",
    "TRUMP", "ANIME", "BERA", "LAYER", "KAITO", "SHELL", "RED", "GPS", "EPIC", "BMT", "FORM", "NIL",
    "PARTI", "MUBARAK", "TUT", "BROCCOLI", "WCT", "HYPER", "INIT", "SIGN", "KERNEL"
)
QUOTE_USD = {"USDT": 1.0, "USDC": 1.0, "FDUSD": 1.0, "BTC": 60000.0, "TRY": 0.03, "ETH": 3000.0, "BNB": 550.0,
             "EUR": 1.08, "BRL": 0.18, "JPY": 0.0067}
QUOTE_SHARE = {"USDT": 1.0, "USDC": 0.45, "BTC": 0.45, "TRY": 0.35, "FDUSD": 0.3, "ETH": 0.15, "BNB": 0.12,
               "EUR": 0.08, "BRL": 0.05, "JPY": 0.03}
"""How likely a base (other than the majors, listed against every quote) is listed against each quote."""
_SYLLABLES = ("ZO", "RA", "KE", "LU", "MI", "NO", "VA", "TI", "XE", "QU", "BO", "DA", "FI", "GO", "HA", "JU",
              "PY", "SY", "WE", "CY", "RO", "NA", "LI", "MO", "KA", "TE", "SU", "VI", "DO", "PE")
ORDER_NOTIONAL_USD = 200.0


def _made_up_bases(rng: random.Random, taken: set[str]):
    """Endless distinct tickers like ``ZORA``, ``KEMIX``: two syllables, sometimes a closing consonant."""
    while True:
        name = rng.choice(_SYLLABLES) + rng.choice(_SYLLABLES)
        name += rng.choice(("", "", "X", "N", "T", "S"))
        if name not in taken and not any(name.endswith(q) for q in QUOTE_USD):
            taken.add(name)
            yield name


def _made_up_pairs(rng: random.Random, taken: set[str]):
    """After the real names: made-up bases, each listed against USDT and a seeded choice of other quotes. An
    endless generator drawn in order, so the first symbols of a larger market are those of a smaller one."""
    for base in _made_up_bases(rng, taken):
        usd = 10 ** rng.uniform(-4, 1)
        quotes = [q for q, share in QUOTE_SHARE.items() if q == "USDT" or rng.random() < share]
        rng.shuffle(quotes)
        yield from ((base, q, usd) for q in quotes)


def _round_down_pow10(value: float) -> int:
    return 10 ** math.floor(math.log10(value))


def _spec(base: str, quote: str, usd: float, levels: int) -> SymbolSpec | None:
    symbol = base + quote
    if symbol in KNOWN:
        return dataclasses.replace(KNOWN[symbol], levels=levels)
    price = usd / QUOTE_USD[quote] * UNIT
    if price < 10_000:  # fewer than five significant digits on the 1e-8 grid: not listed
        return None
    tick = max(1, _round_down_pow10(price) // 10_000)
    price = int(price) // tick * tick
    mean_qty = ORDER_NOTIONAL_USD / usd * UNIT
    step = min(UNIT, max(1, _round_down_pow10(mean_qty) // 100))
    mean_qty = max(step, int(mean_qty) // step * step)
    return SymbolSpec(symbol, base, quote, price, tick, step, mean_qty, levels)


def market_specs(n: int, seed: int = 1) -> list[SymbolSpec]:
    """``n`` distinct symbols, most active first (BTCUSDT, ETHUSDT, SOLUSDT, BNBUSDT, ...). Deterministic in
    ``(n, seed)``, and the first symbols of a larger ``n`` are those of a smaller one with the same seed."""
    rng = random.Random(f"universe:{seed}")
    pairs: list[tuple[str, str, float]] = []
    usd = {b: float(p) for b, p in MAJORS.items()}
    for base in OTHER_BASES:
        usd[base] = 10 ** rng.uniform(-4, 2)
    # The busiest pairs as on Binance: the majors against USDT, then against FDUSD/USDC, then the rest.
    for quote in ("USDT", "FDUSD", "USDC"):
        pairs += [(b, quote, usd[b]) for b in list(MAJORS)[: 20 if quote == "USDT" else 8]]
    listed = {(b, q) for b, q, _ in pairs}
    rest: list[tuple[str, str, float]] = []
    for base in [*MAJORS, *OTHER_BASES]:
        for quote, share in QUOTE_SHARE.items():
            if (base, quote) not in listed and base != quote and (base in MAJORS or rng.random() < share):
                rest.append((base, quote, usd[base]))
    rng.shuffle(rest)
    specs: list[SymbolSpec] = []
    seen: set[str] = set()
    for base, quote, price in itertools.chain(pairs, rest, _made_up_pairs(rng, set(usd) | set(QUOTE_USD))):
        if len(specs) == n:
            break
        rank = len(specs)
        levels = max(30, min(250, round(250 * (rank + 1) ** -0.35)))
        spec = _spec(base, quote, price, levels)
        if spec is not None and spec.symbol not in seen:
            seen.add(spec.symbol)
            specs.append(spec)
    return specs


class Activity(NamedTuple):
    """How busy each symbol is, in the driver's own units (per second)."""

    orders: list[float]
    """Taker orders per second of each symbol (aggTrades per second / ``AGG_PER_ORDER``)."""
    makers: list[float]
    """Background maker changes per second of each symbol (on top of the reaction to each taker order)."""


def zipf_shares(n: int, exponent: float) -> list[float]:
    """Shares of rank 0..n-1 proportional to ``1 / (rank + 1) ** exponent``, summing to 1."""
    raw = [(i + 1) ** -exponent for i in range(n)]
    total = sum(raw)
    return [r / total for r in raw]


def expected_diffs(orders: list[float], makers: list[float]) -> float:
    """Expected depth diffs per second: per symbol, 1/interval times the chance that its book changes in one
    interval (Poisson events: ``1 - exp(-rate * interval)``)."""
    return sum((1.0 - math.exp(-(o * BOOK_CHANGES_PER_ORDER + m) * DEPTH_INTERVAL)) / DEPTH_INTERVAL
               for o, m in zip(orders, makers))


def activity(n: int, trade_rate: float, depth_rate: float) -> Activity:
    """Rates for ``n`` symbols (rank order) so that they make about ``trade_rate`` aggTrades/s and
    ``depth_rate`` depth diffs/s in all. Diffs cannot exceed 10/s per symbol, nor fall below what the trades
    alone cause: ``depth_rate`` is clamped into that range."""
    orders = [s * trade_rate / AGG_PER_ORDER for s in zipf_shares(n, TRADE_EXPONENT)]
    maker_shares = zipf_shares(n, MAKER_EXPONENT)
    ceiling = n / DEPTH_INTERVAL
    target = min(depth_rate, ceiling * 0.999)
    if expected_diffs(orders, [0.0] * n) >= target:
        return Activity(orders, [0.0] * n)
    lo, hi = 0.0, 1.0
    while expected_diffs(orders, [s * hi for s in maker_shares]) < target:
        hi *= 2
    for _ in range(50):
        mid = (lo + hi) / 2
        if expected_diffs(orders, [s * mid for s in maker_shares]) < target:
            lo = mid
        else:
            hi = mid
    return Activity(orders, [s * hi for s in maker_shares])


"""``tradeactors bench book``: how fast the local book keeps up with depth diffs, against bare frame parsing.

Input: the real 2024 BTCUSDT capture shipped in the package
(``tradeactors/simulator/capture_data/binance-spot-capture-2024-08-08``, both files): the 6,493
``depth@100ms`` frames after the REST snapshot (~46 levels each) and that 1000-level snapshot. In the same run,
alternating in halves, each for about ``--seconds`` in all:

- baseline: ``protocol.parse_frame`` of every depth frame, looping over the capture;
- book: ``parse_frame`` + ``BookSync.on_diff`` on a synced book, looping likewise; when the loop wraps, the book
  re-syncs from the snapshot (that re-sync is not timed). When the best bid nears the snapshot's depth (the price
  falls ~$235 during the capture), BookSync asks for a fresh snapshot: it gets the book's own best 1000 levels at
  once (timed), since the capture holds no second snapshot.

``ratio`` = diffs_per_s / parse_per_s: the share of the bare parse rate that survives keeping the book. The
service needs 100 symbols x 10 diffs/s = 1,000 diffs/s per core; the bar is ratio >= 0.3.

Last line: one JSON object ``{"bench": "book", "diffs_per_s", "parse_per_s", "ratio", ...}``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import time

from tradeactors.booksync import BookSync
from tradeactors.protocol import DepthUpdate, parse_frame
from tradeactors.simulator import captures

CAPTURE = str(captures.data_dir() / captures.CAPTURE_2024)
FILES = ("spot_btcusdt_20240808.gz", "spot_btcusdt_20240809.gz")


def load_capture(directory: str) -> tuple[dict, list[bytes]]:
    """The REST snapshot body and the raw depth frames that follow it (those the book applies), in order."""
    snapshot, frames = None, []
    for name in FILES:
        with gzip.open(os.path.join(directory, name), "rb") as fh:
            for line in fh:
                raw = line.rstrip(b"\n").split(b" ", 1)[1]
                if raw.startswith(b'{"lastUpdateId"'):
                    snapshot = json.loads(raw)
                elif b"@depth" in raw[:40]:
                    frames.append(raw)
    if snapshot is None:
        raise SystemExit(f"no REST snapshot line in {directory}")
    first = next(i for i, raw in enumerate(frames) if parse_depth(raw).u > snapshot["lastUpdateId"])
    return snapshot, frames[first:]


def parse_depth(raw: bytes) -> DepthUpdate:
    """A depth frame of the capture, parsed (the capture's other frames are filtered out when loading)."""
    update = parse_frame(raw)
    assert isinstance(update, DepthUpdate)
    return update


def synced(snapshot: dict) -> BookSync:
    sync = BookSync("BTCUSDT", depth_limit=1000)
    sync.on_snapshot(snapshot["lastUpdateId"], snapshot["bids"], snapshot["asks"])
    return sync


def answer_from_book(sync: BookSync) -> None:
    """Answer the book's "near the edge" NeedSnapshot at once. The capture holds one snapshot only, so the fresh
    one is the book's own best 1000 levels; unanswered, BookSync would keep every later diff for the re-base."""
    book = sync.book
    assert book is not None  # synced
    bids, asks = book.top(1000)
    sync.on_snapshot(book.update_id, [list(level) for level in bids], [list(level) for level in asks])


def parse_time(frames: list[bytes], seconds: float) -> tuple[int, float]:
    """Frames parsed and the time it took, looping over the capture for about ``seconds``."""
    count, elapsed = 0, 0.0
    while elapsed < seconds:
        began = time.perf_counter()
        for raw in frames:
            parse_frame(raw)
        elapsed += time.perf_counter() - began
        count += len(frames)
    return count, elapsed


def book_time(snapshot: dict, frames: list[bytes], seconds: float) -> tuple[int, float, BookSync]:
    """Diffs parsed and applied and the time it took; the re-sync at each wrap is not timed."""
    count, elapsed = 0, 0.0
    while elapsed < seconds:
        sync = synced(snapshot)
        on_diff = sync.on_diff
        began = time.perf_counter()
        for raw in frames:
            if len(on_diff(parse_depth(raw))) != 1:  # more than one Applied: a NeedSnapshot
                answer_from_book(sync)
        elapsed += time.perf_counter() - began
        if sync.state != "synced" or sync.counters["diffs_applied"] != len(frames):
            raise SystemExit(f"the book lost sync during the benchmark: {sync.counters}")
        count += len(frames)
    return count, elapsed, sync


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="tradeactors bench book", description=__doc__.splitlines()[0].replace("``", ""))
    parser.add_argument("--seconds", type=float, default=5.0, help="time per measurement (default 5)")
    parser.add_argument("--data", default=os.path.normpath(CAPTURE), help="the 2024 capture folder")
    args = parser.parse_args(argv)

    snapshot, frames = load_capture(args.data)
    levels = sum(len(d.bids) + len(d.asks) for d in map(parse_depth, frames))
    print(f"capture: {len(frames)} BTCUSDT depth frames after the snapshot, {levels / len(frames):.1f} levels "
          f"per frame on average; snapshot lastUpdateId {snapshot['lastUpdateId']}, 1000 levels per side")
    # Alternate the two measurements in halves, so that a change in machine speed affects both alike.
    parsed = applied = 0
    parse_s = book_s = 0.0
    for _ in range(2):
        count, elapsed = parse_time(frames, args.seconds / 2)
        parsed, parse_s = parsed + count, parse_s + elapsed
        count, elapsed, sync = book_time(snapshot, frames, args.seconds / 2)
        applied, book_s = applied + count, book_s + elapsed
    parse_per_s, diffs_per_s = parsed / parse_s, applied / book_s
    ratio = diffs_per_s / parse_per_s
    print(f"parse only:        {parse_per_s:12,.0f} frames/s ({parsed:,} frames in {parse_s:.2f} s)")
    print(f"parse + book sync: {diffs_per_s:12,.0f} diffs/s  ({applied:,} diffs in {book_s:.2f} s)")
    print(f"ratio {ratio:.2f} (bar >= 0.3); one core keeps {diffs_per_s / 10:,.0f} symbols at 10 diffs/s; "
          f"book after one pass: {sync.book}")
    print(json.dumps({"bench": "book", "diffs_per_s": round(diffs_per_s), "parse_per_s": round(parse_per_s),
                      "ratio": round(ratio, 3), "frames": len(frames),
                      "levels_per_frame": round(levels / len(frames), 1)}))
    return 0

"""Logging on stdout, one line per event, with the thread (actor) name on every line.

``text``: ``2026-11-21 14:32:18,123 INFO [Stream-BTCUSDT] tradeactors.actors.stream: message``.
``json``: one JSON object per line with ts, level, thread, logger, msg (and exc when there is one).
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import orjson

TEXT_FORMAT = "%(asctime)s %(levelname)s [%(threadName)s] %(name)s: %(message)s"


class JsonLinesFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": round(record.created, 3),
            "level": record.levelname,
            "thread": record.threadName,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def configure(level: str = "INFO", fmt: str = "text", stream: TextIO | None = None) -> None:
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonLinesFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Third-party chatter (waitress per-request, websockets) stays at WARNING unless debugging.
    for noisy in ("waitress", "websockets", "websocket", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)

import io
import json
import logging
import threading

from tradeactors import logsetup


def log_line(fmt: str) -> str:
    stream = io.StringIO()
    logsetup.configure("INFO", fmt, stream=stream)
    try:
        worker = threading.Thread(target=lambda: logging.getLogger("tradeactors.test").warning("gap %d", 7),
                                  name="Stream-BTCUSDT")
        worker.start()
        worker.join()
    finally:
        logsetup.configure("WARNING", "text")
    return stream.getvalue().strip()


def test_text_lines_carry_the_thread_name():
    line = log_line("text")
    assert "WARNING [Stream-BTCUSDT] tradeactors.test: gap 7" in line


def test_json_lines_are_one_object_per_event_with_the_thread():
    entry = json.loads(log_line("json"))
    assert entry["level"] == "WARNING" and entry["thread"] == "Stream-BTCUSDT" and entry["msg"] == "gap 7"
    assert entry["logger"] == "tradeactors.test" and isinstance(entry["ts"], float)

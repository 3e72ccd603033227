"""The production WSGI server (waitress) for the Flask app, in its own thread.

The socket is bound in ``__init__`` so that "address in use" fails start-up at once; ``start`` serves from a
thread; ``close`` stops serving.
"""

from __future__ import annotations

import logging
import threading

import waitress.server

log = logging.getLogger(__name__)


class HttpServer:
    def __init__(self, app, host: str, port: int, threads: int = 8):
        self._server = waitress.server.create_server(app, host=host, port=port, threads=threads, ident="tradeactors")
        self.host = host
        self.port = self._server.effective_port
        self._thread = threading.Thread(target=self._serve, name="Http", daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def _serve(self) -> None:
        try:
            self._server.run()
        except Exception:
            # waitress raises from its loop when its sockets are closed underneath it during close().
            log.debug("HTTP server loop ended", exc_info=True)

    def close(self) -> None:
        self._server.close()
        self._thread.join(timeout=5)

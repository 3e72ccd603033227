"""An actor that owns one worker thread for blocking I/O (REST), which must never run inside ``on_receive``.

Subclasses set ``self.worker`` (an object with ``run()`` and ``stop()``) and ``thread_name``. on_start starts
the worker's thread; on_stop and on_failure stop it and wait for it (an in-flight request finishes or times
out first).
"""

from __future__ import annotations

import threading

import pykka


class WorkerThreadActor(pykka.ThreadingActor):
    thread_name = "Worker"
    worker = None
    _thread: threading.Thread | None = None

    def on_start(self) -> None:
        threading.current_thread().name = self.thread_name
        self._thread = threading.Thread(target=self.worker.run, name=f"{self.thread_name}-worker", daemon=True)
        self._thread.start()

    def on_stop(self) -> None:
        self._stop_worker()

    def on_failure(self, exception_type, exception_value, traceback) -> None:
        self._stop_worker()

    def _stop_worker(self) -> None:
        self.worker.stop()
        if self._thread is not None:
            self._thread.join(timeout=15)

    @property
    def worker_alive(self) -> bool:
        return bool(self._thread and self._thread.is_alive())

"""``Actor``: a pykka ThreadingActor that dispatches messages by type to methods marked ``@handles``.

Every actor of the service derives from it. ``on_receive`` looks the message's type up in a table built once per
class from the ``@handles(MessageType, ...)`` methods of the class and its bases (a subclass's handler for a type
replaces its base's), so an actor states the messages it accepts next to the code that handles them. Two are
handled here for every actor:

- ``InjectFailure`` (tell): raises, as a bug would, so that the actor fails and the Supervisor restarts it
  (drills and tests). Actors that own a thread override it to make the thread raise when asked.
- ``ThreadDied`` (tell, from a thread the actor owns): raises, so a thread that died on an unexpected exception
  fails its actor and the Supervisor restarts both; a dead thread is never silent.

A message of a type nobody handles is logged and answered with None. ``thread_name`` names the actor's thread
(every log line carries it); it is set in ``on_start``, which subclasses extend with ``super().on_start()``.

Two runtimes: ``Actor`` has a thread of its own (pykka's ThreadingActor); ``PoolActor`` shares a few threads with
every other pooled actor (``pool.py``: the per-symbol StreamActors, which would otherwise cost a thread wake-up
per message).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import pykka

from tradeactors.actors.messages import InjectFailure, ThreadDied
from tradeactors.actors.pool import PooledActor

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


def handles(*message_types: type) -> Callable[[F], F]:
    """Mark a method as the handler of these message types: ``@handles(GetStatus)``."""

    def mark(method: F) -> F:
        method._handles = message_types  # type: ignore[attr-defined]
        return method

    return mark


class Dispatching(pykka.Actor):
    """The ``@handles`` dispatch and the two messages every actor handles, for either runtime below."""

    thread_name: str = "Actor"
    _handlers: ClassVar[dict[type, Callable[..., Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table: dict[type, Callable[..., Any]] = {}
        for klass in reversed(cls.__mro__):
            for attribute in vars(klass).values():
                for message_type in getattr(attribute, "_handles", ()):
                    table[message_type] = attribute
        cls._handlers = table

    def on_start(self) -> None:
        threading.current_thread().name = self.thread_name

    def on_receive(self, message: Any) -> Any:
        handler = self._handlers.get(type(message))
        if handler is None:
            log.warning("%s ignored a message it does not handle: %r", type(self).__name__, message)
            return None
        return handler(self, message)

    @handles(InjectFailure)
    def _inject_failure(self, message: InjectFailure) -> None:
        raise RuntimeError(message.reason)

    @handles(ThreadDied)
    def _thread_died(self, message: ThreadDied) -> None:
        raise RuntimeError(f"thread {message.thread} died: {message.reason}")


class Actor(Dispatching, pykka.ThreadingActor):
    """An actor with a thread of its own: for actors that block (storage, queries, REST workers' owners)."""


class PoolActor(Dispatching, PooledActor):
    """An actor run on the shared ``ActorPool`` (``pool.py``): for the many per-symbol actors, whose handlers never
    block. ``thread_name`` still names it in every log line it writes."""

"""LISTEN for other replicas' changes (PostgreSQL only) and run a handler per change at once.

The handlers only make a replica learn sooner: each also runs on its own poll (the sweeper catches the index up
every second, the stream hub reads new session events four times a second, and every ask batch checks the
knowledge version first). So a listener that loses its connection (`pg_terminate_backend`, a restart) costs
speed, never correctness; it reconnects and runs every handler once, for what it may have missed."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

log = logging.getLogger("frontdesk")

RECONNECT_SECONDS = 0.5


@runtime_checkable
class Listens(Protocol):
    """A store whose other replicas announce their commits (`PostgresStore`); SQLite has no other replicas."""

    def listen(self) -> Any:
        """A connection of its own, listening; `notifies()` yields what other replicas announce."""
        ...


class ChangeListener:
    def __init__(self, store: Listens, handlers: dict[str, Callable[[], object]]):
        self.store = store
        self.handlers = handlers
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="listener", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:  # started
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with self.store.listen() as conn:
                    self._handle(set(self.handlers))  # whatever happened while not listening
                    while not self._stop.is_set():
                        channels = {n.payload for n in conn.notifies(timeout=0.5, stop_after=1)}
                        self._handle(channels)
            except Exception as exc:  # the connection was cut: listen again
                if not self._stop.is_set():
                    log.warning("listening for other replicas' changes failed (%s); reconnecting", exc)
                    self._stop.wait(RECONNECT_SECONDS)

    def _handle(self, channels: set[str]) -> None:
        for channel in channels:
            handler = self.handlers.get(channel)
            if handler is None:
                continue
            try:
                handler()
            except Exception:
                log.exception("handling a change to %s failed", channel)

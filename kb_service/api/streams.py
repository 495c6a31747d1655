"""Open event streams: a cap per client IP and in all, and one database poller that wakes them.

One task reads which sessions have new rows in `session_events` every POLL_SECONDS (at once when another replica
says it wrote some: `nudge`) and wakes only their streams; each woken stream then reads its own rows after its
cursor. Rows are numbered in commit order on both backends (one writer at a time), so the cursor misses none. A thousand idle streams cost one cheap
query a quarter second, not four thousand, and a stream still resumes exactly from its cursor."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from fastapi.concurrency import run_in_threadpool

from kb_service.errors import DomainError
from kb_service.storage.store import Store

log = logging.getLogger("frontdesk")

POLL_SECONDS = 0.25
RETRY_AFTER_SECONDS = 10  # a full stream table is about other calls ending, not this client slowing down


class TooManyStreams(DomainError):
    """This client IP (429) or the whole service (503) has as many open streams as allowed."""

    def __init__(self, message: str, status_code: int):
        super().__init__(message)
        self.status_code = status_code
        self.headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}


@dataclass(eq=False)
class Subscription:
    session_id: str
    client: str
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False


class StreamHub:
    def __init__(self, store: Store, max_per_client: int, max_total: int, interval: float = POLL_SECONDS):
        self.store = store
        self.max_per_client = max_per_client
        self.max_total = max_total
        self.interval = interval
        self._by_session: dict[str, set[Subscription]] = defaultdict(set)
        self._per_client: Counter[str] = Counter()
        self._open = 0
        self._last_id = 0
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._nudged = asyncio.Event()
        self.stopping = False

    @property
    def open_count(self) -> int:
        return self._open

    async def start(self) -> None:
        self._last_id = await run_in_threadpool(self.store.scalar, "SELECT COALESCE(MAX(id), 0) FROM session_events")
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._poll(), name="session-events-poller")

    def nudge(self) -> None:
        """Poll now (from any thread): another replica committed session events."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._nudged.set)

    async def stop(self) -> None:
        """Wake every stream so it ends, and stop polling."""
        self.stopping = True
        for subscriptions in list(self._by_session.values()):
            for subscription in subscriptions:
                subscription.wake.set()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def subscribe(self, session_id: str, client: str) -> Subscription:
        """A stream slot for `client`, or TooManyStreams. Register before reading the backlog: no row is missed."""
        if self._per_client[client] >= self.max_per_client:
            raise TooManyStreams(
                f"too many open event streams from this client (KB_MAX_STREAMS_PER_IP={self.max_per_client}); "
                f"close one or retry in {RETRY_AFTER_SECONDS} s",
                429,
            )
        if self._open >= self.max_total:
            raise TooManyStreams(f"the service has all its event streams open; retry in {RETRY_AFTER_SECONDS} s", 503)
        subscription = Subscription(session_id, client)
        self._by_session[session_id].add(subscription)
        self._per_client[client] += 1
        self._open += 1
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Release the slot; safe to call twice."""
        if subscription.closed:
            return
        subscription.closed = True
        subscription.wake.set()
        subscribers = self._by_session.get(subscription.session_id)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._by_session[subscription.session_id]
        self._per_client[subscription.client] -= 1
        if self._per_client[subscription.client] <= 0:
            del self._per_client[subscription.client]
        self._open -= 1

    def _sessions_with_new_rows(self, since: int) -> list:
        return self.store.query(
            "SELECT session_id, MAX(id) AS last FROM session_events WHERE id > ? GROUP BY session_id", (since,)
        )

    async def _poll(self) -> None:
        while not self.stopping:
            try:
                await asyncio.wait_for(self._nudged.wait(), self.interval)
            except TimeoutError:
                pass
            self._nudged.clear()
            if not self._by_session:
                continue  # nobody listening; a new stream reads its own backlog
            try:
                rows = await run_in_threadpool(self._sessions_with_new_rows, self._last_id)
            except Exception:  # a locked or closing database must not end every stream; retry next round
                log.exception("polling session events failed; retrying")
                continue
            for row in rows:
                self._last_id = max(self._last_id, row["last"])
                for subscription in self._by_session.get(row["session_id"], ()):
                    subscription.wake.set()

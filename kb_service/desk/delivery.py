"""Webhook delivery: one queue per target, each attempt cut off at a wall-clock deadline.

A receiver that trickles its answer a byte at a time defeats a per-read timeout; here an attempt ends after
`KB_WEBHOOK_TIMEOUT_SECONDS` in all, shorter than the lease on its row (desk/outbox.py), so no other replica sends
it meanwhile. Each target is drained by its own task on one event loop: a slow or failing target holds up
only its own queue. After a failure its other rows wait for the retry (a circuit breaker per target), so a dead
receiver costs one attempt per retry, not one per message. Console lines never come this way."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import httpx

from kb_service.desk.outbox import WEBHOOK_CHANNELS, Outbox
from kb_service.storage.store import Row

log = logging.getLogger("frontdesk.outbox")

CLAIM_LIMIT = 50


class WebhookDelivery:
    """Runs on a thread of its own with its own event loop; `wake()` makes it look for due rows at once."""

    def __init__(self, outbox: Outbox, interval: float):
        self.outbox = outbox
        self.interval = interval
        self._busy: set[str] = set()  # targets whose queue is being sent now
        self._failing: dict[str, float] = {}  # target -> monotonic time its circuit closes again
        self._loop = asyncio.new_event_loop()
        self._wake = asyncio.Event()
        self._stopping = False
        self._tasks: set[asyncio.Task] = set()
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    def stop(self) -> None:
        self._stopping = True
        if self._thread.is_alive():
            self.wake()
            self._thread.join(timeout=self.outbox.timeout + 5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._main())
        finally:
            self._loop.close()

    async def _main(self) -> None:
        timeout = httpx.Timeout(self.outbox.timeout)
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as http:
            while not self._stopping:
                try:
                    await self._round(http)
                except Exception:  # a bad round must not end delivery; the next round retries
                    log.exception("webhook round failed; retrying")
                try:
                    await asyncio.wait_for(self._wake.wait(), self.interval)
                except TimeoutError:
                    pass
                self._wake.clear()
            for task in list(self._tasks):  # leased rows go back to the table when their lease ends
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _round(self, http: httpx.AsyncClient) -> None:
        clock = time.monotonic()
        self._failing = {t: until for t, until in self._failing.items() if until > clock}
        skip = sorted(self._busy | set(self._failing))
        rows = await asyncio.to_thread(self.outbox.claim, WEBHOOK_CHANNELS, CLAIM_LIMIT, skip)
        queues: dict[str, list[Row]] = {}
        for row in rows:
            queues.setdefault(row["target"], []).append(row)
        for target, queue in queues.items():
            self._busy.add(target)
            task = asyncio.create_task(self._drain(http, target, queue))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _drain(self, http: httpx.AsyncClient, target: str, queue: list[Row]) -> None:
        """Send one target's rows in order; at its first failure the rest wait for that row's retry."""
        try:
            for i, row in enumerate(queue):
                try:
                    await asyncio.wait_for(self._send(http, row), self.outbox.timeout)
                except Exception as exc:  # any failure of the outside world means: try again later
                    if isinstance(exc, TimeoutError):
                        exc = TimeoutError(f"no complete answer within {self.outbox.timeout:g} s")
                    delay = await asyncio.to_thread(self.outbox.failed, row, exc)
                    self._failing[target] = time.monotonic() + delay
                    await asyncio.to_thread(self.outbox.release, [r["id"] for r in queue[i + 1 :]], delay)
                    return
                await asyncio.to_thread(self.outbox.mark_delivered, [row["id"]])
        finally:
            self._busy.discard(target)
            if queue and not self._stopping:
                self._wake.set()  # more may have come for this target meanwhile

    async def _send(self, http: httpx.AsyncClient, row: Row) -> None:
        body, headers = self.outbox.request(row)
        response = await http.post(row["target"], content=body, headers=headers)
        response.raise_for_status()

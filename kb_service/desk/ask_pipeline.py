"""Micro-batching of asks: asks that arrive while the model is busy share the next forward pass, the next index
search and the next commit.

Two workers take turns at the model. The worker whose turn it is takes every queued ask (up to `max_batch`),
embeds them in one forward pass, hands the turn on and then, while the other worker embeds the asks that
arrived meanwhile, lets the receptionist match and record its batch (`Receptionist.respond`). So the model and
the rest overlap under load. The route awaits an asyncio future: the event loop never waits for model work.
There is no waiting window: a lone ask starts at once, and under load a batch grows to what arrived during the
previous pass.
Background work (calibration) waits for a moment with no ask in hand (`wait_idle`), so callers go first.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from kb_service.conversation.split import two_questions
from kb_service.desk.reading import Part
from kb_service.desk.receptionist import Receptionist
from kb_service.embedding import Embedder
from kb_service.errors import DomainError
from kb_service.storage.idempotency import IdempotencyKey
from models import AskRequest, AskResponse

log = logging.getLogger("frontdesk")

WORKERS = 2  # one at the model while the other searches and commits the batch before


class ServiceStopping(DomainError):
    status_code = 503


@dataclass
class _Ask:
    body: AskRequest
    key: IdempotencyKey | None
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[AskResponse] = field(repr=False)


class AskPipeline:
    def __init__(self, receptionist: Receptionist, embedder: Embedder, max_batch: int = 64):
        self.receptionist = receptionist
        self.embedder = embedder
        self.max_batch = max_batch
        self.batches = 0  # forward passes made, and the asks they carried (exported in /metrics)
        self.asks = 0
        self._incoming: deque[_Ask] = deque()
        lock = threading.Lock()
        self._arrived = threading.Condition(lock)
        self._idle = threading.Condition(lock)
        self._in_hand = 0  # asks submitted and not yet answered
        self._model_turn = threading.Lock()  # one forward pass at a time: two would only fight over the cores
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"ask-worker-{n}", daemon=True) for n in range(WORKERS)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    async def submit(self, body: AskRequest, key: IdempotencyKey | None = None) -> AskResponse:
        """Queue one ask and wait for its response."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._arrived:
            if self._closed:
                raise ServiceStopping("the service is shutting down; ask again in a moment")
            self._incoming.append(_Ask(body, key, loop, future))
            self._in_hand += 1
            self._arrived.notify()
        return await future

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no ask is queued or being answered, for at most `timeout` seconds; whether it is so."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_hand == 0, timeout)

    def close(self) -> None:
        """Finish what is queued, then stop the workers."""
        with self._arrived:
            self._closed = True
            self._arrived.notify_all()
        for thread in self._threads:
            if thread.ident is not None:  # started
                thread.join(timeout=30)

    def _take(self) -> list[_Ask]:
        with self._arrived:
            while not self._incoming and not self._closed:
                self._arrived.wait()
            return [self._incoming.popleft() for _ in range(min(self.max_batch, len(self._incoming)))]

    def _work(self) -> None:
        while True:
            with self._model_turn:  # take the batch only when it is this worker's turn, so it holds all that waits
                asks = self._take()
                if not asks:  # closed and drained
                    return
                # Two questions in one turn are embedded apart too, in the same pass (found from the words).
                splits = [two_questions(a.body.question) for a in asks]
                extra = [part for split in splits if split for part in split]
                try:
                    vectors = self.embedder.embed([a.body.question for a in asks] + extra)
                except Exception as exc:  # every waiting caller gets the error, not a hang
                    log.exception("embedding a batch of %d asks failed", len(asks))
                    self._done(asks, [exc] * len(asks))
                    continue
                self.batches += 1
            self._respond(asks, vectors[: len(asks)], _parts(splits, vectors[len(asks) :]))

    def _respond(self, asks: list[_Ask], vectors: np.ndarray, parts: list[list[Part]]) -> None:
        try:
            results = self.receptionist.respond(vectors, [a.body for a in asks], [a.key for a in asks], parts)
        except Exception as exc:  # the commit failed: nobody's ask was recorded
            log.exception("recording a batch of %d asks failed", len(asks))
            results = [exc] * len(asks)
        with self._arrived:
            self.asks += len(asks)
        self._done(asks, results)

    def _done(self, asks: list[_Ask], results: list) -> None:
        _deliver(asks, results)
        with self._idle:
            self._in_hand -= len(asks)
            if self._in_hand == 0:
                self._idle.notify_all()


def _parts(splits: list[tuple[str, str] | None], vectors: np.ndarray) -> list[list[Part]]:
    """Each ask's two questions with their vectors (none for an ask of one question)."""
    parts: list[list[Part]] = []
    row = 0
    for split in splits:
        if split is None:
            parts.append([])
            continue
        parts.append([Part(split[0], vectors[row]), Part(split[1], vectors[row + 1])])
        row += 2
    return parts


def _deliver(asks: list[_Ask], results: list) -> None:
    """Hand each result to its request, on the request's event loop (one wake-up per loop)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future, object]]] = {}
    for ask, result in zip(asks, results, strict=True):
        by_loop.setdefault(ask.loop, []).append((ask.future, result))
    for loop, pairs in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, pairs)
        except RuntimeError:  # that loop has closed: its requests are gone
            pass


def _settle(pairs: list[tuple[asyncio.Future, object]]) -> None:
    for future, result in pairs:
        if future.done():  # the request was cancelled (client gone); its ask is recorded all the same
            continue
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)

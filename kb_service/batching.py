"""Micro-batching: texts asked for within a few milliseconds of each other share one forward pass.

`BatchingEmbedder` has the `Embedder` interface. A call from a request thread queues its texts and waits; one
worker thread takes everything queued, embeds it in one `embed` call and hands each caller its rows. While
a forward pass runs (a few milliseconds), the asks that arrive queue up and go together in the next pass.
There is no fixed waiting window: a lone ask starts at once and pays nothing, and under load the batch grows
by itself to what arrived during the previous pass (measured in docs/performance.md). Large calls (imports,
rebuilds) bypass the queue: they are batches already.
"""

from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import Future

import numpy as np


class BatchingEmbedder:
    def __init__(self, embedder, max_batch: int = 64):
        self.inner = embedder
        self.model_name = embedder.model_name
        self.dimension = embedder.dimension
        self.max_batch = max_batch
        self._queue: deque[tuple[list[str], Future]] = deque()
        self._ready = threading.Condition()
        self._closed = False
        self.batches = 0  # forward passes made for queued texts (for tests and benchmarks)
        self._thread = threading.Thread(target=self._run, name="embed-batcher", daemon=True)
        self._thread.start()

    def embed(self, texts: list[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(texts) >= self.max_batch or show_progress or self._closed:
            return self.inner.embed(texts, batch_size=batch_size, show_progress=show_progress)
        future: Future = Future()
        with self._ready:
            self._queue.append((texts, future))
            self._ready.notify()
        return future.result()

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify()
        self._thread.join(timeout=10)

    def _take(self) -> list[tuple[list[str], Future]]:
        """Block for the first waiting call, then take every queued call that fits in one batch."""
        with self._ready:
            while not self._queue and not self._closed:
                self._ready.wait()
            taken, size = [], 0
            while self._queue and size + len(self._queue[0][0]) <= self.max_batch or (self._queue and not taken):
                texts, future = self._queue.popleft()
                taken.append((texts, future))
                size += len(texts)
            return taken

    def _run(self) -> None:
        while True:
            taken = self._take()
            if not taken:
                if self._closed:
                    return
                continue
            self._embed(taken)

    def _embed(self, taken: list[tuple[list[str], Future]]) -> None:
        texts = [text for call, _ in taken for text in call]
        try:
            vectors = self.inner.embed(texts)
        except Exception as exc:  # noqa: BLE001  # every waiting caller gets the error rather than hanging
            for _, future in taken:
                future.set_exception(exc)
            return
        self.batches += 1
        start = 0
        for call, future in taken:
            future.set_result(vectors[start:start + len(call)])
            start += len(call)

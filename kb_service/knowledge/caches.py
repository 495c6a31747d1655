"""What the matcher reads about an entry on every ask, kept in memory: its centroid and its texts.

Both are derived from the database and dropped or recomputed when an entry changes, so they never need saving."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from kb_service.embedding import from_blob
from kb_service.storage.store import Store

MAX_CACHED_TEXTS = 10_000  # entries whose texts are kept (all of them in a small business)
PROJECTED_AT_ONCE = 10_000  # stored vectors put through an adapter at a time when all centroids are recounted


class Centroid:
    """An entry's phrasings summed: the sum's direction (unit length, or zero if they cancel out), its length,
    and how many phrasings went into it. One vector per entry: at a million phrasings a second copy per entry
    would cost hundreds of MB."""

    __slots__ = ("direction", "length", "count")

    def __init__(self, total: np.ndarray, count: int):
        """Takes `total` over and normalises it in place."""
        self.length = float(np.linalg.norm(total))
        self.count = count
        if self.length <= 1e-6:
            total[:] = 0.0
            self.length = 0.0
        else:
            total /= self.length
        self.direction = total

    def total(self) -> np.ndarray:
        return self.direction * self.length


class Centroids:
    """knowledge id -> Centroid of its phrasing vectors, kept current by every change. With `project` (the
    adapter's, `knowledge/adapter.py`), of the projected vectors."""

    def __init__(self, store: Store, project: Callable[[np.ndarray], np.ndarray] | None = None):
        self.store = store
        self.project = project
        self._by_entry: dict[int, Centroid] = {}

    def get(self, knowledge_id: int) -> Centroid | None:
        return self._by_entry.get(knowledge_id)

    def recount(self, knowledge_ids: set[int]) -> None:
        """Recompute a few entries from the database (a handful of rows each)."""
        for kid in knowledge_ids:
            rows = self.store.query("SELECT embedding FROM phrasings WHERE knowledge_id = ?", (kid,))
            if rows:
                vectors = np.stack([from_blob(r["embedding"]) for r in rows])
                if self.project is not None:
                    vectors = self.project(vectors)
                self._by_entry[kid] = Centroid(vectors.sum(axis=0), len(rows))
            else:
                self._by_entry.pop(kid, None)

    def recount_all(self) -> None:
        totals: dict[int, tuple[np.ndarray, int]] = {}
        rows = self.store.query("SELECT knowledge_id, embedding FROM phrasings")
        for start in range(0, len(rows), PROJECTED_AT_ONCE):
            self._add_up(rows[start : start + PROJECTED_AT_ONCE], totals)
        self._by_entry = {kid: Centroid(total, count) for kid, (total, count) in totals.items()}

    def _add_up(self, rows: list, totals: dict[int, tuple[np.ndarray, int]]) -> None:
        vectors = [from_blob(blob) for _, blob in rows]
        if self.project is not None and vectors:
            vectors = list(self.project(np.stack(vectors)))
        for (kid, _), vector in zip(rows, vectors, strict=True):
            total, count = totals.get(kid, (None, 0))
            if total is None:
                total = vector.copy()
            else:
                total += vector  # in place: no new array per phrasing
            totals[kid] = (total, count + 1)


class EntryTexts:
    """knowledge id -> (its phrasings, its answer), what the contradiction guard reads for the entry it would
    answer from. A read that raced with a change is not kept (the generation moved on meanwhile)."""

    def __init__(self, store: Store):
        self.store = store
        self._texts: dict[int, tuple[list[str], str]] = {}
        self._lock = threading.Lock()
        self._generation = 0

    def get(self, knowledge_id: int) -> tuple[list[str], str] | None:
        """(phrasings, answer), or None if the entry does not exist."""
        if (cached := self._texts.get(knowledge_id)) is not None:
            return cached
        generation = self._generation
        answer = self.store.scalar("SELECT answer FROM knowledge_entries WHERE id = ?", (knowledge_id,))
        if answer is None:
            return None
        rows = self.store.query("SELECT question FROM phrasings WHERE knowledge_id = ?", (knowledge_id,))
        texts = ([r["question"] for r in rows], answer)
        with self._lock:
            if generation == self._generation:
                if len(self._texts) >= MAX_CACHED_TEXTS:
                    self._texts.clear()
                self._texts[knowledge_id] = texts
        return texts

    def forget(self, knowledge_ids: set[int] | None = None) -> None:
        """Drop these entries' texts (all of them with None)."""
        with self._lock:
            self._generation += 1
            if knowledge_ids is None:
                self._texts.clear()
            for kid in knowledge_ids or ():
                self._texts.pop(kid, None)

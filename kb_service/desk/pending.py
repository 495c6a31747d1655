"""The embeddings of the pending help requests, kept in memory for the duplicate check on every escalation.

Reading every pending request's embedding back from SQLite on each escalation costs time in proportion to
the queue, which under load (or with an absent supervisor) grows into the thousands. Here each escalation asks
SQLite only for the count and the largest id of the pending requests, inside its own transaction, so it sees
exactly what the transaction sees:
- unchanged: the cached matrix is current;
- only new requests (ids above the cached largest, and the count grew by as many): read just those;
- anything else (a request resolved or timed out): read the pending ids again, and embeddings only for ids
  not cached yet.
A request the transaction itself opens is handed over with `opened()`, so the next check need not read it back.
An id can only mean a different question after a rollback (SQLite reuses a rolled-back id), so the owner
of the transaction calls `forget()` when a commit or a savepoint fails.
"""

from __future__ import annotations

import threading

import numpy as np

from kb_service.embedding import from_blob
from kb_service.storage.store import Tx

PENDING = "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM help_requests WHERE status = 'pending'"


class PendingQuestions:
    def __init__(self, dimension: int):
        self.dimension = dimension
        self._lock = threading.Lock()
        self.forget()

    def forget(self) -> None:
        with self._lock:
            self._ids = np.zeros(0, dtype=np.int64)
            self._vectors = np.zeros((0, self.dimension), dtype=np.float32)  # rows past `_count` are spare
            self._count = 0
            self._max_id = 0

    def nearest(self, tx: Tx, vector: np.ndarray) -> tuple[int, float] | None:
        """The pending request whose question is most similar to `vector`, and the cosine; None if none."""
        with self._lock:
            self._catch_up(tx)
            if self._count == 0:
                return None
            scores = self._vectors[: self._count] @ vector
            best = int(np.argmax(scores))
            return int(self._ids[best]), float(scores[best])

    def opened(self, help_request_id: int, vector: np.ndarray) -> None:
        """A pending request the caller's transaction has just inserted (after `nearest` in that transaction)."""
        with self._lock:
            if help_request_id > self._max_id:  # otherwise the next check reads SQLite again
                self._append([help_request_id], [vector])
                self._max_id = help_request_id

    def _catch_up(self, tx: Tx) -> None:
        count, max_id = tx.execute(PENDING).fetchone()
        if (count, max_id) == (self._count, self._max_id):
            return
        if max_id > self._max_id:
            rows = tx.execute(
                "SELECT id, embedding FROM help_requests WHERE status = 'pending' AND id > ? ORDER BY id",
                (self._max_id,),
            ).fetchall()
            if self._count + len(rows) == count:  # nothing left the queue: append the newcomers
                self._append([r[0] for r in rows], [from_blob(r[1]) for r in rows])
                self._max_id = max_id
                return
        self._reload(tx, count, max_id)

    def _reload(self, tx: Tx, count: int, max_id: int) -> None:
        known = dict(zip(self._ids[: self._count].tolist(), self._vectors[: self._count]))
        ids = [r[0] for r in tx.execute("SELECT id FROM help_requests WHERE status = 'pending' ORDER BY id")]
        missing = [i for i in ids if i not in known]
        for start in range(0, len(missing), 500):  # SQLite caps the number of bound parameters
            chunk = missing[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in tx.execute(f"SELECT id, embedding FROM help_requests WHERE id IN ({marks})", chunk):
                known[row[0]] = from_blob(row[1])
        self._ids = np.zeros(0, dtype=np.int64)
        self._vectors = np.zeros((0, self.dimension), dtype=np.float32)
        self._count = 0
        self._append(ids, [known[i] for i in ids])
        self._max_id = max_id

    def _append(self, ids: list[int], vectors: list[np.ndarray]) -> None:
        needed = self._count + len(ids)
        if needed > len(self._ids):  # grow by doubling, so a stream of escalations copies O(n) in all
            capacity = max(needed, 2 * len(self._ids), 64)
            grown_ids = np.zeros(capacity, dtype=np.int64)
            grown = np.zeros((capacity, self.dimension), dtype=np.float32)
            grown_ids[: self._count] = self._ids[: self._count]
            grown[: self._count] = self._vectors[: self._count]
            self._ids, self._vectors = grown_ids, grown
        if len(ids) == 1:  # an escalation's own request: no stacking
            self._ids[self._count] = ids[0]
            self._vectors[self._count] = vectors[0]
        elif ids:
            self._ids[self._count : needed] = ids
            self._vectors[self._count : needed] = np.stack(vectors)
        self._count = needed

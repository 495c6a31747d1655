"""The index mirror: the FAISS index (and the centroid and text caches) kept equal to the phrasings in the
database, for this process's own writes as they commit and for other replicas' writes as they are noticed.

A write logs its change with `changed(tx, ...)`: a new knowledge version (what other replicas watch) and the
index change, applied when the transaction commits and never if it rolls back."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from kb_service.embedding import Embedder, from_blob, to_blob
from kb_service.knowledge.caches import Centroid, Centroids, EntryTexts
from kb_service.knowledge.index import VectorIndex
from kb_service.storage.store import Store, Tx

log = logging.getLogger("frontdesk.knowledge")


class Hit(NamedTuple):
    """A phrasing near a query: its cosine similarity, its id and its entry's."""

    cosine: float
    phrasing_id: int
    knowledge_id: int


class Neighbour(NamedTuple):
    """An entry near a question, by the cosine of its nearest phrasing: for the knowledge search and the import's
    near-duplicate warnings (answering weighs entries otherwise: `matching/matcher.py`)."""

    knowledge_id: int
    cosine: float


class IndexMirror:
    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        index_path: Path | None = None,
        index_kind: str = "flat",
        index_exact_max: int = 50_000,
    ):
        self.store = store
        self.embedder = embedder
        self.index_path = index_path
        self.index_kind = index_kind
        self.index_exact_max = index_exact_max
        self.index = self._new_index()
        self._owner: dict[int, int] = {}  # phrasing id -> knowledge id
        self.centroids = Centroids(store)  # the matcher's, so an ask never re-reads the table
        self.texts = EntryTexts(store)  # the contradiction guard's
        self._sync_lock = threading.Lock()
        self._synced_version = -1
        # Knowledge versions this process wrote and already mirrored in the index: the sweep's check for
        # writes by other processes skips them instead of comparing a million ids after every learn.
        self._own_versions: set[int] = set()

    def _new_index(self) -> VectorIndex:
        return VectorIndex(self.embedder.dimension, self.index_kind, self.index_exact_max)

    # ---- reads, for the matcher and the knowledge search

    def nearest(self, vectors: np.ndarray, k: int) -> list[list[Hit]]:
        """Per query, up to `k` nearest phrasings, best first, each with the entry it belongs to."""
        scores, ids = self.index.search(vectors, k)
        owner = self._owner.get
        result = []
        for row_scores, row_ids in zip(scores.tolist(), ids.tolist()):
            found = []
            for score, pid in zip(row_scores, row_ids):
                knowledge_id = owner(pid) if pid >= 0 else None
                if knowledge_id is not None:
                    found.append(Hit(score, pid, knowledge_id))
            result.append(found)
        return result

    def nearest_entries(self, vectors: np.ndarray, k: int) -> list[list[Neighbour]]:
        """Per query, the entries of the `k` nearest phrasings, best first."""
        result = []
        for found in self.nearest(vectors, k):
            best: dict[int, float] = {}
            for cosine, _, owner in found:
                if cosine > best.get(owner, -2.0):
                    best[owner] = cosine
            ranked = sorted(best.items(), key=lambda item: -item[1])
            result.append([Neighbour(kid, float(cosine)) for kid, cosine in ranked])
        return result

    def centroid(self, knowledge_id: int) -> Centroid | None:
        return self.centroids.get(knowledge_id)

    def entry_texts(self, knowledge_id: int) -> tuple[list[str], str] | None:
        """(phrasings, answer) of the entry, or None if it does not exist."""
        return self.texts.get(knowledge_id)

    def owner_of(self, phrasing_id: int) -> int | None:
        return self._owner.get(int(phrasing_id))

    # ---- this process's writes

    def changed(
        self,
        tx: Tx,
        knowledge_id: int,
        added: Sequence[int] = (),
        vectors: np.ndarray | None = None,
        removed: Sequence[int] = (),
    ) -> None:
        """Log a change to the entry (its answer, or the phrasings `added` with their `vectors` and `removed`) as
        a new knowledge version in `tx`, and mirror it in the index once `tx` commits."""
        version = self.store.bump_knowledge_version(tx, knowledge_id)
        tx.on_commit(functools.partial(self._apply, version, knowledge_id, list(added), vectors, list(removed)))

    def _apply(
        self, version: int, knowledge_id: int, added: list[int], vectors: np.ndarray | None, removed: list[int]
    ) -> None:
        with self._sync_lock:
            touched = {knowledge_id}  # its answer may have changed
            if removed:
                self.index.remove(removed)
                for pid in removed:
                    owner = self._owner.pop(pid, None)
                    if owner is not None:
                        touched.add(owner)
            if added and vectors is not None:
                for pid in added:
                    self._owner[pid] = knowledge_id
                self.index.add(np.array(added), vectors)
            self.centroids.recount(touched)
            self.texts.forget(touched)
            self._own_versions.add(version)

    # ---- keeping the index equal to the DB

    def load(self) -> str:
        """Load the saved index, then make it equal to the DB. Returns what happened, for the log."""
        how = "loaded"
        if self.index_path is not None and self.index_path.exists():
            try:
                self.index = VectorIndex.load(
                    self.index_path, self.embedder.dimension, self.index_kind, self.index_exact_max
                )
            except Exception as exc:  # a torn or foreign file: the DB has everything to rebuild it
                log.warning("index file %s unreadable (%s); rebuilding from the database", self.index_path, exc)
                self.index = self._new_index()
                how = "rebuilt (corrupt file)"
        else:
            how = "built (no file)"
        self.reembed_other_models()
        changed = self.sync()
        if how == "loaded" and changed:
            how = f"loaded and caught up ({changed} phrasings)"
        return how

    def reembed_other_models(self, show_progress: bool = False) -> int:
        """Phrasings embedded by another model are re-embedded, so every vector is comparable."""
        rows = self.store.query("SELECT id, question FROM phrasings WHERE model != ?", (self.embedder.model_name,))
        if not rows:
            return 0
        self._reembed(rows, show_progress)
        self.index.remove([r["id"] for r in rows])
        return len(rows)

    def _reembed(self, rows: list[Any], show_progress: bool) -> None:
        vectors = self.embedder.embed([r["question"] for r in rows], show_progress=show_progress)
        with self.store.write() as tx:
            tx.executemany(
                "UPDATE phrasings SET embedding = ?, model = ? WHERE id = ?",
                [(to_blob(v), self.embedder.model_name, r["id"]) for r, v in zip(rows, vectors)],
            )
            self.store.bump_knowledge_version(tx)

    def sync(self) -> int:
        """Add what the DB has and the index lacks, drop what the DB no longer has. Returns the change count."""
        with self._sync_lock:
            version = self.store.knowledge_version()
            rows = self.store.query("SELECT id, knowledge_id FROM phrasings")
            self._owner = {r["id"]: r["knowledge_id"] for r in rows}
            in_db = set(self._owner)
            in_index = self.index.ids()
            missing = sorted(in_db - in_index)
            extra = in_index - in_db
            self.index.remove(extra)
            for start in range(0, len(missing), 10_000):
                chunk = missing[start : start + 10_000]
                marks = ",".join("?" * len(chunk))
                got = self.store.query(f"SELECT id, embedding FROM phrasings WHERE id IN ({marks})", chunk)
                self.index.add(np.array([r["id"] for r in got]), np.stack([from_blob(r["embedding"]) for r in got]))
            self.centroids.recount_all()
            self.texts.forget()
            self._synced_version = version
            self._own_versions = {v for v in self._own_versions if v > version}
            return len(missing) + len(extra)

    def in_step(self, version: int) -> bool:
        """Whether the index holds every change up to knowledge `version`: synced (a knowledge base never synced
        starts empty, at version 0), or this process's own writes since then already applied."""
        with self._sync_lock:
            return all(v in self._own_versions for v in range(max(self._synced_version, 0) + 1, version + 1))

    def sync_if_changed_elsewhere(self) -> int:
        """Catch up with writes by another replica or process (such as `frontdesk import`): one cheap version
        read when nothing changed; else only the entries `knowledge_changes` names since the version in hand."""
        version = self.store.knowledge_version()
        with self._sync_lock:
            if version == self._synced_version and len(self.index) == len(self._owner):
                return 0
            newer = set(range(self._synced_version + 1, version + 1))
            if self._synced_version >= 0 and newer <= self._own_versions:
                # Every change since the last sync was this process's own, already applied: O(changes).
                self._own_versions -= newer
                self._synced_version = version
                return 0
            if self._synced_version >= 0 and (changed := self._catch_up(version)) is not None:
                return changed
        self.texts.forget()  # another process changed something (an answer, say)
        phrasings = self.store.scalar("SELECT COUNT(*) FROM phrasings")
        if len(self.index) == phrasings and self.index.ids() == set(self._owner):
            self._synced_version = version
            return 0
        return self.sync()

    def _catch_up(self, version: int) -> int | None:
        """Apply the logged changes after `_synced_version` (under the sync lock); None if the log cannot say
        (it starts later, or a change touched every entry): then the caller syncs in full."""
        changes = self.store.query(
            "SELECT version, knowledge_id FROM knowledge_changes WHERE version > ? ORDER BY version",
            (self._synced_version,),
        )
        versions = [r["version"] for r in changes]
        if versions != list(range(self._synced_version + 1, self._synced_version + 1 + len(versions))):
            return None
        if not versions or versions[-1] < version or any(r["knowledge_id"] is None for r in changes):
            return None
        touched = {r["knowledge_id"] for r in changes if r["version"] not in self._own_versions}
        changed = self._reload_entries(touched)
        self._synced_version = versions[-1]
        self._own_versions = {v for v in self._own_versions if v > self._synced_version}
        return changed

    def _reload_entries(self, knowledge_ids: set[int]) -> int:
        """Make the index hold exactly the DB's phrasings of these entries."""
        if not knowledge_ids:
            return 0
        ids = sorted(knowledge_ids)
        marks = ",".join("?" * len(ids))
        rows = self.store.query(
            f"SELECT id, knowledge_id, embedding FROM phrasings WHERE knowledge_id IN ({marks})", ids
        )
        in_db = {r["id"]: r for r in rows}
        held = {pid for pid, kid in self._owner.items() if kid in knowledge_ids}
        removed = held - in_db.keys()
        added = sorted(in_db.keys() - held)
        self.index.remove(removed)
        for pid in removed:
            del self._owner[pid]
        if added:
            for pid in added:
                self._owner[pid] = in_db[pid]["knowledge_id"]
            self.index.add(np.array(added), np.stack([from_blob(in_db[pid]["embedding"]) for pid in added]))
        self.centroids.recount(knowledge_ids)
        self.texts.forget(knowledge_ids)
        return len(removed) + len(added)

    def save(self) -> None:
        if self.index_path is not None:
            self.index.save(self.index_path, self.store.knowledge_version())

    def rebuild(self, show_progress: bool = False) -> int:
        """Re-embed every phrasing with the current model and write a fresh index."""
        rows = self.store.query("SELECT id, question FROM phrasings ORDER BY id")
        self._reembed(rows, show_progress)
        self.index = self._new_index()
        self.sync()
        self.save()
        return len(rows)

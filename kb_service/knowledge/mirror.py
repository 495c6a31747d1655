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
from typing import Any

import numpy as np

from kb_service.embedding import Embedder, from_blob, to_blob
from kb_service.knowledge import adapter as adapters
from kb_service.knowledge.adapter import Space
from kb_service.knowledge.caches import Centroids, EntryTexts
from kb_service.knowledge.index import Hit, Neighbour, VectorIndex
from kb_service.storage.store import Store, Tx

log = logging.getLogger("frontdesk.knowledge")


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
        # The index and the centroids (the matcher's, so an ask never re-reads the table), through the adapter.
        self.space = self._new_space(None)
        self._owner: dict[int, int] = {}  # phrasing id -> knowledge id
        self.texts = EntryTexts(store)  # the contradiction guard's
        self._sync_lock = threading.Lock()
        self._synced_version = -1
        # Knowledge versions this process wrote and already mirrored in the index: the sweep's check for
        # writes by other processes skips them instead of comparing a million ids after every learn.
        self._own_versions: set[int] = set()

    def _new_index(self) -> VectorIndex:
        return VectorIndex(self.embedder.dimension, self.index_kind, self.index_exact_max)

    def _new_space(self, adapter: adapters.Adapter | None, index: VectorIndex | None = None) -> Space:
        index = index if index is not None else self._new_index()
        plain = Space(None, self._new_index(), Centroids(self.store)) if adapter else None
        return Space(adapter, index, Centroids(self.store, adapter.project if adapter else None), plain)

    @property
    def index(self) -> VectorIndex:
        return self.space.index

    # ---- reads, for the matcher and the knowledge search

    def nearest(self, vectors: np.ndarray, k: int, space: Space | None = None) -> list[list[Hit]]:
        """Per query (as the model embedded it), up to `k` nearest phrasings, best first, each with the entry it
        belongs to. `space`: the one the caller took (`self.space` by default)."""
        space = space or self.space
        scores, ids = space.index.search(space.project(vectors), k)
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
                self.space.remove(removed)
                for pid in removed:
                    owner = self._owner.pop(pid, None)
                    if owner is not None:
                        touched.add(owner)
            if added and vectors is not None:
                for pid in added:
                    self._owner[pid] = knowledge_id
                self.space.add(np.array(added), vectors)
            self.space.recount(touched)
            self.texts.forget(touched)
            self._own_versions.add(version)

    # ---- keeping the index equal to the DB

    def load(self) -> str:
        """Load the saved index, then make it equal to the DB. Returns what happened, for the log."""
        how = "loaded"
        reembedded = self.reembed_other_models()  # before the file is read: it drops an adapter of the old model
        adapter = adapters.load(self.store, self.embedder.model_name)
        if self.index_path is not None and self.index_path.exists() and not reembedded:
            try:
                index = VectorIndex.load(
                    self.index_path, self.embedder.dimension, self.index_kind, self.index_exact_max
                )
            except Exception as exc:  # a torn or foreign file: the DB has everything to rebuild it
                log.warning("index file %s unreadable (%s); rebuilding from the database", self.index_path, exc)
                index, how = self._new_index(), "rebuilt (corrupt file)"
            if how == "loaded" and adapters.saved_with(self.index_path) != (adapter and adapter.key):
                index, how = self._new_index(), "rebuilt (another adapter)"
            self.space = self._new_space(adapter, index)
        else:
            self.space = self._new_space(adapter)
            how = "built (re-embedded)" if reembedded else "built (no file)"
        changed = self.sync()
        if how == "loaded" and changed:
            how = f"loaded and caught up ({changed} phrasings)"
        return how

    def reembed_other_models(self, show_progress: bool = False) -> int:
        """Phrasings embedded by another model are re-embedded, so every vector is comparable."""
        rows = self.store.query("SELECT id, question FROM phrasings WHERE model != ?", (self.embedder.model_name,))
        if not rows:
            return 0
        self._reembed(rows, show_progress, other_model=True)
        self.space.remove([r["id"] for r in rows])
        return len(rows)

    def _reembed(self, rows: list[Any], show_progress: bool, other_model: bool = False) -> None:
        """New vectors for these phrasings. From `other_model`'s: an adapter fitted to those no longer applies."""
        vectors = self.embedder.embed([r["question"] for r in rows], show_progress=show_progress)
        with self.store.write() as tx:
            tx.executemany(
                "UPDATE phrasings SET embedding = ?, model = ? WHERE id = ?",
                [(to_blob(v), self.embedder.model_name, r["id"]) for r, v in zip(rows, vectors)],
            )
            if other_model:
                adapters.save(tx, None)
            self.store.bump_knowledge_version(tx)

    def sync(self) -> int:
        """Add what the DB has and the index lacks, drop what the DB no longer has. Returns the change count."""
        with self._sync_lock:
            version = self.store.knowledge_version()
            space = self.space
            adapter = adapters.load(self.store, self.embedder.model_name)
            if (adapter and adapter.key) != space.key:  # a new adapter: a new space, filled before it is used
                space = self._new_space(adapter)
            rows = self.store.query("SELECT id, knowledge_id FROM phrasings")
            self._owner = {r["id"]: r["knowledge_id"] for r in rows}
            in_db = set(self._owner)
            changed = sum(self._fill(layer, in_db) for layer in space.layers())
            self.space = space
            self.texts.forget()
            self._synced_version = version
            self._own_versions = {v for v in self._own_versions if v > version}
            return changed

    def _fill(self, layer: Space, in_db: set[int]) -> int:
        """Make `layer`'s index hold exactly the phrasings `in_db`, and count its centroids again."""
        in_index = layer.index.ids()
        missing = sorted(in_db - in_index)
        extra = in_index - in_db
        layer.index.remove(extra)
        for start in range(0, len(missing), 10_000):
            chunk = missing[start : start + 10_000]
            marks = ",".join("?" * len(chunk))
            got = self.store.query(f"SELECT id, embedding FROM phrasings WHERE id IN ({marks})", chunk)
            vectors = np.stack([from_blob(r["embedding"]) for r in got])
            layer.index.add(np.array([r["id"] for r in got]), layer.project(vectors))
        layer.centroids.recount_all()
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
            moved = self._adapter_moved()
            if not moved and self._synced_version >= 0 and (changed := self._catch_up(version)) is not None:
                return changed
        if moved:
            return self.sync()  # another adapter: every vector moves
        self.texts.forget()  # another process changed something (an answer, say)
        phrasings = self.store.scalar("SELECT COUNT(*) FROM phrasings")
        if len(self.index) == phrasings and self.index.ids() == set(self._owner):
            self._synced_version = version
            return 0
        return self.sync()

    def _adapter_moved(self) -> bool:
        return adapters.stored_key(self.store, self.embedder.model_name) != self.space.key

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
        self.space.remove(removed)
        for pid in removed:
            del self._owner[pid]
        if added:
            for pid in added:
                self._owner[pid] = in_db[pid]["knowledge_id"]
            vectors = np.stack([from_blob(in_db[pid]["embedding"]) for pid in added])
            self.space.add(np.array(added), vectors)
        self.space.recount(knowledge_ids)
        self.texts.forget(knowledge_ids)
        return len(removed) + len(added)

    def save(self) -> None:
        if self.index_path is not None:
            self.index.save(self.index_path, self.store.knowledge_version(), adapter=self.space.key)

    def rebuild(self, show_progress: bool = False) -> int:
        """Re-embed every phrasing with the current model and write a fresh index."""
        rows = self.store.query("SELECT id, question FROM phrasings ORDER BY id")
        self._reembed(rows, show_progress)
        self.space = self._new_space(None)
        self.sync()
        self.save()
        return len(rows)

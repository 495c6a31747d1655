"""Knowledge entries (one answer, many phrasings): the DB rows and the index that mirrors them."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb_service.embedding import Embedder, from_blob, to_blob
from kb_service.errors import NotFound
from kb_service.knowledge.caches import Centroids, EntryTexts
from kb_service.knowledge.index import VectorIndex
from kb_service.storage.store import Row, Store, Tx, iso, now
from models import KnowledgePublic, PhrasingPublic

log = logging.getLogger("frontdesk.knowledge")


@dataclass(frozen=True)
class NewPhrasings:
    """Rows just written inside a transaction; applied to the index once the transaction commits."""

    ids: list[int]
    vectors: np.ndarray


class KnowledgeBase:
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
        self._pending = threading.local()  # versions bumped by this thread's open transaction

    def _new_index(self) -> VectorIndex:
        return VectorIndex(self.embedder.dimension, self.index_kind, self.index_exact_max)

    def _bump(self, tx: Tx, knowledge_id: int) -> None:
        version = self.store.bump_knowledge_version(tx, knowledge_id)
        pending = getattr(self._pending, "versions", [])
        if pending and pending[-1] != version - 1:
            pending = []  # left by a transaction that rolled back: never ours
        self._pending.versions = [*pending, version]

    # ---- writes (each inside a caller-supplied transaction, so lifecycle changes can include them)

    def insert_entry(self, tx: Tx, answer: str, questions: list[str], vectors: np.ndarray) -> tuple[int, NewPhrasings]:
        stamp = iso(now())
        cur = tx.execute(
            "INSERT INTO knowledge_entries (answer, created_at, updated_at) VALUES (?, ?, ?) RETURNING id",
            (answer, stamp, stamp),
        )
        knowledge_id = int(cur.fetchone()[0])
        return knowledge_id, self.insert_phrasings(tx, knowledge_id, questions, vectors)

    def insert_phrasings(self, tx: Tx, knowledge_id: int, questions: list[str], vectors: np.ndarray) -> NewPhrasings:
        if tx.execute("SELECT 1 FROM knowledge_entries WHERE id = ?", (knowledge_id,)).fetchone() is None:
            raise NotFound(f"knowledge entry {knowledge_id} does not exist")
        existing = {r[0] for r in tx.execute("SELECT question FROM phrasings WHERE knowledge_id = ?", (knowledge_id,))}
        stamp = iso(now())
        ids, kept = [], []
        for question, vector in zip(questions, vectors, strict=True):
            if question in existing:
                continue
            existing.add(question)
            cur = tx.execute(
                "INSERT INTO phrasings (knowledge_id, question, embedding, model, created_at) VALUES (?, ?, ?, ?, ?)"
                " RETURNING id",
                (knowledge_id, question, to_blob(vector), self.embedder.model_name, stamp),
            )
            ids.append(int(cur.fetchone()[0]))
            kept.append(vector)
        if ids:
            self._bump(tx, knowledge_id)
            tx.execute("UPDATE knowledge_entries SET updated_at = ? WHERE id = ?", (stamp, knowledge_id))
        return NewPhrasings(ids, np.array(kept, dtype=np.float32).reshape(len(ids), self.embedder.dimension))

    def apply(
        self, added: NewPhrasings | None = None, knowledge_id: int | None = None, removed: list[int] | None = None
    ) -> None:
        """Mirror a committed change in the index at once: no rebuild."""
        with self._sync_lock:
            self._apply(added, knowledge_id, removed)
            self._own_versions.update(getattr(self._pending, "versions", []))
            self._pending.versions = []

    def _apply(self, added: NewPhrasings | None, knowledge_id: int | None, removed: list[int] | None) -> None:
        touched: set[int] = set() if knowledge_id is None else {knowledge_id}  # its answer may have changed
        if removed:
            self.index.remove(removed)
            for pid in removed:
                owner = self._owner.pop(pid, None)
                if owner is not None:
                    touched.add(owner)
        if added and added.ids:
            for pid in added.ids:
                self._owner[pid] = knowledge_id
            self.index.add(np.array(added.ids), added.vectors)
        self.centroids.recount(touched)
        self.texts.forget(touched)

    def phrasing_vector(self, phrasing_id: int) -> np.ndarray | None:
        blob = self.store.scalar("SELECT embedding FROM phrasings WHERE id = ?", (phrasing_id,))
        return None if blob is None else from_blob(blob)

    # ---- public operations

    def create(self, answer: str, questions: list[str]) -> KnowledgePublic:
        vectors = self.embedder.embed(questions)
        with self.store.write() as tx:
            knowledge_id, added = self.insert_entry(tx, answer, questions, vectors)
        self.apply(added, knowledge_id)
        return self.get(knowledge_id)

    def import_entries(self, entries: list[tuple[str, list[str]]], show_progress: bool = False) -> list[int]:
        """Add many entries with one batched embedding pass and one transaction."""
        questions = [q for _, qs in entries for q in qs]
        vectors = self.embedder.embed(questions, show_progress=show_progress)
        created: list[tuple[int, NewPhrasings]] = []
        with self.store.write() as tx:
            start = 0
            for answer, qs in entries:
                created.append(self.insert_entry(tx, answer, qs, vectors[start : start + len(qs)]))
                start += len(qs)
        for knowledge_id, added in created:
            self.apply(added, knowledge_id)
        return [knowledge_id for knowledge_id, _ in created]

    def add_phrasing(self, knowledge_id: int, question: str) -> KnowledgePublic:
        vectors = self.embedder.embed([question])
        with self.store.write() as tx:
            added = self.insert_phrasings(tx, knowledge_id, [question], vectors)
        self.apply(added, knowledge_id)
        return self.get(knowledge_id)

    def update(self, knowledge_id: int, answer: str | None, questions: list[str] | None) -> KnowledgePublic:
        vectors = self.embedder.embed(questions) if questions is not None else None
        removed: list[int] = []
        added = None
        with self.store.write() as tx:
            if tx.execute("SELECT 1 FROM knowledge_entries WHERE id = ?", (knowledge_id,)).fetchone() is None:
                raise NotFound(f"knowledge entry {knowledge_id} does not exist")
            if answer is not None:
                tx.execute(
                    "UPDATE knowledge_entries SET answer = ?, updated_at = ? WHERE id = ?",
                    (answer, iso(now()), knowledge_id),
                )
                self._bump(tx, knowledge_id)  # so that other processes drop their copy of the entry's texts
            if questions is not None:
                # Keep unchanged phrasings (and their ids); replace the rest.
                current = {
                    r["question"]: r["id"]
                    for r in tx.execute("SELECT id, question FROM phrasings WHERE knowledge_id = ?", (knowledge_id,))
                }
                wanted = list(dict.fromkeys(questions))
                removed = [pid for q, pid in current.items() if q not in wanted]
                if removed:
                    tx.executemany("DELETE FROM phrasings WHERE id = ?", [(pid,) for pid in removed])
                    self._bump(tx, knowledge_id)
                new = [(q, v) for q, v in zip(questions, vectors, strict=True) if q not in current]
                new = list({q: (q, v) for q, v in new}.values())
                added = self.insert_phrasings(
                    tx, knowledge_id, [q for q, _ in new], np.array([v for _, v in new], dtype=np.float32)
                )
        self.apply(added, knowledge_id, removed)
        return self.get(knowledge_id)

    def delete(self, knowledge_id: int) -> None:
        with self.store.write() as tx:
            removed = [r[0] for r in tx.execute("SELECT id FROM phrasings WHERE knowledge_id = ?", (knowledge_id,))]
            cur = tx.execute("DELETE FROM knowledge_entries WHERE id = ?", (knowledge_id,))
            if cur.rowcount == 0:
                raise NotFound(f"knowledge entry {knowledge_id} does not exist")
            self._bump(tx, knowledge_id)
        self.apply(removed=removed)

    def record_hit(self, tx: Tx, knowledge_id: int, stamp: str | None = None) -> Row | None:
        """Count an answer given from this entry; its answer and hit count (with this hit), or None if it is gone.
        One statement, as each is a round trip on PostgreSQL."""
        return tx.execute(
            "UPDATE knowledge_entries SET hit_count = hit_count + 1, last_used_at = ? WHERE id = ?"
            " RETURNING answer, hit_count",
            (stamp or iso(now()), knowledge_id),
        ).fetchone()

    # ---- reads

    def owner_of(self, phrasing_id: int) -> int | None:
        return self._owner.get(int(phrasing_id))

    def get(self, knowledge_id: int, score: float | None = None) -> KnowledgePublic:
        row = self.store.query_one("SELECT * FROM knowledge_entries WHERE id = ?", (knowledge_id,))
        if row is None:
            raise NotFound(f"knowledge entry {knowledge_id} does not exist")
        return self._public(row, score)

    def _public(self, row, score: float | None = None) -> KnowledgePublic:
        phrasings = self.store.query(
            "SELECT id, question FROM phrasings WHERE knowledge_id = ? ORDER BY id", (row["id"],)
        )
        return KnowledgePublic(
            id=row["id"],
            answer=row["answer"],
            hit_count=row["hit_count"],
            last_used_at=row["last_used_at"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            score=score,
            phrasings=[PhrasingPublic(id=p["id"], question=p["question"]) for p in phrasings],
        )

    def list(self, limit: int, offset: int) -> tuple[list[KnowledgePublic], int]:
        rows = self.store.query("SELECT * FROM knowledge_entries ORDER BY id LIMIT ? OFFSET ?", (limit, offset))
        total = self.store.scalar("SELECT COUNT(*) FROM knowledge_entries")
        return [self._public(r) for r in rows], total

    def count(self) -> int:
        return self.store.scalar("SELECT COUNT(*) FROM knowledge_entries")

    def phrasing_count(self) -> int:
        return self.store.scalar("SELECT COUNT(*) FROM phrasings")

    # ---- keeping the index equal to the DB

    def load_index(self) -> str:
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
        vectors = self.embedder.embed([r["question"] for r in rows], show_progress=show_progress)
        with self.store.write() as tx:
            tx.executemany(
                "UPDATE phrasings SET embedding = ?, model = ? WHERE id = ?",
                [(to_blob(v), self.embedder.model_name, r["id"]) for r, v in zip(rows, vectors)],
            )
            self.store.bump_knowledge_version(tx)
        self.index.remove([r["id"] for r in rows])
        return len(rows)

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
        if len(self.index) == self.phrasing_count() and self.index.ids() == set(self._owner):
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

    def save_index(self) -> None:
        if self.index_path is not None:
            self.index.save(self.index_path, self.store.knowledge_version())

    def rebuild(self, show_progress: bool = False) -> int:
        """Re-embed every phrasing with the current model and write a fresh index."""
        rows = self.store.query("SELECT id, question FROM phrasings ORDER BY id")
        vectors = self.embedder.embed([r["question"] for r in rows], show_progress=show_progress)
        with self.store.write() as tx:
            tx.executemany(
                "UPDATE phrasings SET embedding = ?, model = ? WHERE id = ?",
                [(to_blob(v), self.embedder.model_name, r["id"]) for r, v in zip(rows, vectors)],
            )
            self.store.bump_knowledge_version(tx)
        self.index = self._new_index()
        self.sync()
        self.save_index()
        return len(rows)

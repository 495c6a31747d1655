"""Knowledge entries (one answer, many phrasings): create, read, update and delete, each in its own transaction.

The index mirrors every committed change (`knowledge/mirror.py`); writes that other services make inside their
own transactions are in `knowledge/writes.py`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from kb_service.embedding import Embedder, from_blob
from kb_service.errors import NotFound
from kb_service.knowledge.index import VectorIndex
from kb_service.knowledge.mirror import IndexMirror
from kb_service.knowledge.writes import EntryWrites
from kb_service.storage.store import Store, iso, now
from models import KnowledgePublic, PhrasingPublic


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
        self.mirror = IndexMirror(store, embedder, index_path, index_kind, index_exact_max)
        self.writes = EntryWrites(self.mirror, embedder.model_name)

    @property
    def index(self) -> VectorIndex:
        return self.mirror.index

    # ---- writes

    def create(self, answer: str, questions: list[str]) -> KnowledgePublic:
        vectors = self.embedder.embed(questions)
        with self.store.write() as tx:
            knowledge_id = self.writes.insert_entry(tx, answer, questions, vectors)
        return self.get(knowledge_id)

    def import_entries(self, entries: list[tuple[str, list[str]]], show_progress: bool = False) -> list[int]:
        """Add many entries with one batched embedding pass and one transaction."""
        questions = [q for _, qs in entries for q in qs]
        vectors = self.embedder.embed(questions, show_progress=show_progress)
        created: list[int] = []
        with self.store.write() as tx:
            start = 0
            for answer, qs in entries:
                created.append(self.writes.insert_entry(tx, answer, qs, vectors[start : start + len(qs)]))
                start += len(qs)
        return created

    def add_phrasing(self, knowledge_id: int, question: str) -> KnowledgePublic:
        vectors = self.embedder.embed([question])
        with self.store.write() as tx:
            self.writes.insert_phrasings(tx, knowledge_id, [question], vectors)
        return self.get(knowledge_id)

    def update(self, knowledge_id: int, answer: str | None, questions: list[str] | None) -> KnowledgePublic:
        vectors = self.embedder.embed(questions) if questions is not None else None
        with self.store.write() as tx:
            if tx.execute("SELECT 1 FROM knowledge_entries WHERE id = ?", (knowledge_id,)).fetchone() is None:
                raise NotFound(f"knowledge entry {knowledge_id} does not exist")
            if answer is not None:
                tx.execute(
                    "UPDATE knowledge_entries SET answer = ?, updated_at = ? WHERE id = ?",
                    (answer, iso(now()), knowledge_id),
                )
                self.mirror.changed(tx, knowledge_id)  # so that other processes drop their copy of its texts
            if questions is not None and vectors is not None:
                # Keep unchanged phrasings (and their ids); replace the rest.
                current = {
                    r["question"]: r["id"]
                    for r in tx.execute("SELECT id, question FROM phrasings WHERE knowledge_id = ?", (knowledge_id,))
                }
                wanted = list(dict.fromkeys(questions))
                removed = [pid for q, pid in current.items() if q not in wanted]
                if removed:
                    tx.executemany("DELETE FROM phrasings WHERE id = ?", [(pid,) for pid in removed])
                    self.mirror.changed(tx, knowledge_id, removed=removed)
                new = [(q, v) for q, v in zip(questions, vectors, strict=True) if q not in current]
                new = list({q: (q, v) for q, v in new}.values())
                self.writes.insert_phrasings(
                    tx, knowledge_id, [q for q, _ in new], np.array([v for _, v in new], dtype=np.float32)
                )
        return self.get(knowledge_id)

    def delete(self, knowledge_id: int) -> None:
        with self.store.write() as tx:
            removed = [r[0] for r in tx.execute("SELECT id FROM phrasings WHERE knowledge_id = ?", (knowledge_id,))]
            cur = tx.execute("DELETE FROM knowledge_entries WHERE id = ?", (knowledge_id,))
            if cur.rowcount == 0:
                raise NotFound(f"knowledge entry {knowledge_id} does not exist")
            self.mirror.changed(tx, knowledge_id, removed=removed)

    # ---- reads

    def phrasing_vector(self, phrasing_id: int) -> np.ndarray | None:
        blob = self.store.scalar("SELECT embedding FROM phrasings WHERE id = ?", (phrasing_id,))
        return None if blob is None else from_blob(blob)

    def get(self, knowledge_id: int, score: float | None = None) -> KnowledgePublic:
        row = self.store.query_one("SELECT * FROM knowledge_entries WHERE id = ?", (knowledge_id,))
        if row is None:
            raise NotFound(f"knowledge entry {knowledge_id} does not exist")
        return self._public(row, score)

    def _public(self, row: Any, score: float | None = None) -> KnowledgePublic:
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
        total = int(self.store.scalar("SELECT COUNT(*) FROM knowledge_entries"))
        return [self._public(r) for r in rows], total

    def count(self) -> int:
        return int(self.store.scalar("SELECT COUNT(*) FROM knowledge_entries"))

    def phrasing_count(self) -> int:
        return int(self.store.scalar("SELECT COUNT(*) FROM phrasings"))

    # ---- the index (`knowledge/mirror.py`)

    def load_index(self) -> str:
        return self.mirror.load()

    def sync_if_changed_elsewhere(self) -> int:
        return self.mirror.sync_if_changed_elsewhere()

    def save_index(self) -> None:
        self.mirror.save()

    def rebuild(self, show_progress: bool = False) -> int:
        return self.mirror.rebuild(show_progress)

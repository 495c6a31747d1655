"""Knowledge writes lent to other services' transactions: a resolve learns its answer, and an ask counts its hit,
in the same transaction that closes the request or logs the ask. Each change reaches the index when that
transaction commits (`IndexMirror.changed`)."""

from __future__ import annotations

import numpy as np

from kb_service.embedding import to_blob
from kb_service.errors import NotFound
from kb_service.knowledge.mirror import IndexMirror
from kb_service.storage.store import Row, Tx, iso, now


class EntryWrites:
    def __init__(self, mirror: IndexMirror, model_name: str):
        self.mirror = mirror
        self.model_name = model_name

    def insert_entry(self, tx: Tx, answer: str, questions: list[str], vectors: np.ndarray) -> int:
        """A new entry with these phrasings; returns its id."""
        stamp = iso(now())
        cur = tx.execute(
            "INSERT INTO knowledge_entries (answer, created_at, updated_at) VALUES (?, ?, ?) RETURNING id",
            (answer, stamp, stamp),
        )
        knowledge_id = int(cur.fetchone()[0])
        self.insert_phrasings(tx, knowledge_id, questions, vectors)
        return knowledge_id

    def insert_phrasings(self, tx: Tx, knowledge_id: int, questions: list[str], vectors: np.ndarray) -> list[int]:
        """Add the phrasings the entry lacks; returns their ids. NotFound if the entry does not exist."""
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
                (knowledge_id, question, to_blob(vector), self.model_name, stamp),
            )
            ids.append(int(cur.fetchone()[0]))
            kept.append(vector)
        if ids:
            self.mirror.changed(tx, knowledge_id, added=ids, vectors=np.array(kept, dtype=np.float32))
            tx.execute("UPDATE knowledge_entries SET updated_at = ? WHERE id = ?", (stamp, knowledge_id))
        return ids

    def record_hit(self, tx: Tx, knowledge_id: int, stamp: str | None = None) -> Row | None:
        """Count an answer given from this entry; its answer and hit count (with this hit), or None if it is gone.
        One statement, as each is a round trip on PostgreSQL."""
        row: Row | None = tx.execute(
            "UPDATE knowledge_entries SET hit_count = hit_count + 1, last_used_at = ? WHERE id = ?"
            " RETURNING answer, hit_count",
            (stamp or iso(now()), knowledge_id),
        ).fetchone()
        return row

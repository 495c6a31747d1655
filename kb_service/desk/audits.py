"""The audit queue: a sample of auto-answers for the supervisor to mark right or wrong in one click.

Every entry's first AUDIT_FIRST auto-answers are sampled (a new entry is where a wrong match shows first), then
one in AUDIT_EVERY. Each verdict is a label for live calibration (`matching/live.py`)."""

from __future__ import annotations

from kb_service.errors import Conflict, NotFound
from kb_service.matching.live import Verdicts
from kb_service.storage.store import Row, Store, Tx, iso, now
from models import AuditPage, AuditPublic

AUDIT_FIRST = 3
AUDIT_EVERY = 20


def sample(tx: Tx, question: str, answer: str, knowledge_id: int, confidence: float, stamp: str, hits: int) -> None:
    """Queue this auto-answer for review if it falls in the sample (`hits`: the entry's answers, this one too)."""
    if hits <= AUDIT_FIRST or hits % AUDIT_EVERY == 0:
        tx.execute(
            "INSERT INTO audits (question, answer, knowledge_id, confidence, asked_at) VALUES (?, ?, ?, ?, ?)",
            (question, answer, knowledge_id, confidence, stamp),
        )


def _public(row: Row) -> AuditPublic:
    return AuditPublic(
        id=row["id"],
        question=row["question"],
        answer=row["answer"],
        knowledge_id=row["knowledge_id"],
        confidence=round(row["confidence"], 4),
        asked_at=row["asked_at"],
        verdict=row["verdict"],
    )


class Audits:
    def __init__(self, store: Store, verdicts: Verdicts):
        self.store = store
        self.verdicts = verdicts

    def waiting(self, limit: int, offset: int) -> AuditPage:
        """Auto-answers not reviewed yet, oldest first."""
        rows = self.store.query(
            "SELECT * FROM audits WHERE verdict IS NULL ORDER BY id LIMIT ? OFFSET ?", (limit, offset)
        )
        total = self.store.scalar("SELECT COUNT(*) FROM audits WHERE verdict IS NULL")
        return AuditPage(items=[_public(r) for r in rows], total=total)

    def review(self, audit_id: int, correct: bool) -> AuditPublic:
        """Mark an audited auto-answer right or wrong. 409 if it was reviewed already."""
        with self.store.write() as tx:
            row = tx.execute("SELECT * FROM audits WHERE id = ?", (audit_id,)).fetchone()
            if row is None:
                raise NotFound(f"audit {audit_id} does not exist")
            if row["verdict"] is not None:
                raise Conflict(f"audit {audit_id} was already marked {row['verdict']}")
            tx.execute(
                "UPDATE audits SET verdict = ?, reviewed_at = ? WHERE id = ?",
                ("right" if correct else "wrong", iso(now()), audit_id),
            )
            self.verdicts.record(tx, row["knowledge_id"], row["confidence"], correct, "audit")
            return _public(tx.execute("SELECT * FROM audits WHERE id = ?", (audit_id,)).fetchone())

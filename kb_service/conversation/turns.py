"""A call's last turns, kept in the database (replicas share sessions), read before each ask in a session."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kb_service.embedding import from_blob, to_blob
from kb_service.storage.store import Store, Tx

RECENT = 3  # turns read back: enough to find the question a follow-up refers to across a "thanks" in between
QUESTION_OUTCOMES = ("answered", "confirm", "escalated")


@dataclass(frozen=True)
class Turn:
    question: str
    vector: np.ndarray | None  # the question's own vector (None for a conversational turn)
    outcome: str
    message: str
    handoff_id: int | None  # a call-back that still needs the caller's number


def recent(store: Store, session_id: str) -> list[Turn]:
    """The session's last turns, the newest first."""
    rows = store.query(
        "SELECT question, embedding, outcome, message, handoff_id FROM session_turns WHERE session_id = ?"
        " ORDER BY id DESC LIMIT ?",
        (session_id, RECENT),
    )
    return [
        Turn(
            r["question"],
            from_blob(r["embedding"]) if r["embedding"] else None,
            r["outcome"],
            r["message"],
            r["handoff_id"],
        )
        for r in rows
    ]


def last_question(turns: list[Turn]) -> Turn | None:
    """The question a short follow-up may refer to: the latest asked in the last few turns."""
    return next((t for t in turns if t.outcome in QUESTION_OUTCOMES and t.vector is not None), None)


def record(
    tx: Tx,
    session_id: str,
    stamp: str,
    question: str,
    vector: np.ndarray | None,
    outcome: str,
    message: str,
    handoff_id: int | None = None,
) -> None:
    tx.execute(
        "INSERT INTO session_turns (session_id, said_at, question, embedding, outcome, message, handoff_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (session_id, stamp, question, to_blob(vector) if vector is not None else None, outcome, message, handoff_id),
    )

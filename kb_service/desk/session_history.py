"""What a call session has said so far, for a new tab that resumes it: the caller's latest questions (with the
answer when the agent gave one) and the references still waiting for the supervisor. The follow-ups themselves
replay from the session's event stream."""

from __future__ import annotations

from datetime import datetime

from kb_service.storage.store import Store
from models import CurrentSession, SessionTurn

RECENT_TURNS = 20


def current_session(store: Store, session_id: str, expires_at: datetime) -> CurrentSession:
    rows = store.query(
        "SELECT a.question, a.outcome, a.asked_at, CASE WHEN a.outcome = 'answered' THEN k.answer END AS answer"
        " FROM ask_log a LEFT JOIN knowledge_entries k ON k.id = a.knowledge_id"
        " WHERE a.session_id = ? ORDER BY a.id DESC LIMIT ?",
        (session_id, RECENT_TURNS),
    )
    waiting = store.query(
        "SELECT c.id FROM help_request_callers c JOIN help_requests r ON r.id = c.help_request_id"
        " WHERE c.session_id = ? AND r.status = 'pending' ORDER BY c.id",
        (session_id,),
    )
    turns = [
        SessionTurn(
            question=row["question"],
            outcome=row["outcome"],
            answer=row["answer"],
            asked_at=datetime.fromisoformat(row["asked_at"]),
        )
        for row in reversed(rows)
    ]
    return CurrentSession(
        session_id=session_id, expires_at=expires_at, turns=turns, waiting=[row["id"] for row in waiting]
    )

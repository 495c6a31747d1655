"""A help request's call so far: the caller's earlier questions in the same call session, so that "what about
Saturday?" reads with the question before it. From `ask_log`, which keeps every ask with its session."""

from __future__ import annotations

from kb_service.storage.store import Row, Store
from models import CallTurn

EARLIER_TURNS = 5  # the latest ones; a supervisor reads them at a glance


def earlier_turns(store: Store, help_request_id: int) -> list[CallTurn]:
    """The questions asked before this request's, in the session of its first caller who had one, oldest first.
    Questions forgotten by retention (blank) are left out; an answered one carries its entry's answer."""
    caller = store.query_one(
        "SELECT session_id, joined_at FROM help_request_callers"
        " WHERE help_request_id = ? AND session_id IS NOT NULL ORDER BY id LIMIT 1",
        (help_request_id,),
    )
    if caller is None:
        return []
    rows = store.query(
        "SELECT a.asked_at, a.question, a.outcome, e.answer FROM ask_log a"
        " LEFT JOIN knowledge_entries e ON e.id = a.knowledge_id AND a.outcome = 'answered'"
        " WHERE a.session_id = ? AND a.asked_at < ? AND a.question != '' ORDER BY a.id DESC LIMIT ?",
        (caller["session_id"], caller["joined_at"], EARLIER_TURNS),
    )
    return [_turn(row) for row in reversed(rows)]


def _turn(row: Row) -> CallTurn:
    return CallTurn(asked_at=row["asked_at"], question=row["question"], outcome=row["outcome"], answer=row["answer"])

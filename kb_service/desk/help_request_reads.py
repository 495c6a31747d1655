"""Reading help requests as the supervisor sees them: one, a page of them, and each with its waiting callers."""

from __future__ import annotations

from kb_service.desk.transcripts import earlier_turns
from kb_service.errors import NotFound
from kb_service.storage.store import Row, Store
from models import HelpRequestPublic, HelpRequestStatus, WaitingCaller


def find(store: Store, help_request_id: int) -> Row:
    row = store.query_one("SELECT * FROM help_requests WHERE id = ?", (help_request_id,))
    if row is None:
        raise NotFound(f"help request {help_request_id} does not exist")
    return row


def get(store: Store, help_request_id: int) -> HelpRequestPublic:
    return public(store, find(store, help_request_id))


def listing(
    store: Store, status: HelpRequestStatus | None, limit: int, offset: int, oldest_first: bool = False
) -> tuple[list[HelpRequestPublic], int]:
    where, params = ("WHERE status = ?", (status.value,)) if status else ("", ())
    order = "ASC" if oldest_first else "DESC"
    rows = store.query(
        f"SELECT * FROM help_requests {where} ORDER BY id {order} LIMIT ? OFFSET ?", (*params, limit, offset)
    )
    total = store.scalar(f"SELECT COUNT(*) FROM help_requests {where}", params)
    return [public(store, r) for r in rows], total


def public(store: Store, row: Row) -> HelpRequestPublic:
    callers = store.query("SELECT * FROM help_request_callers WHERE help_request_id = ? ORDER BY id", (row["id"],))
    return HelpRequestPublic(
        id=row["id"],
        question=row["question"],
        status=row["status"],
        caller_name=row["caller_name"],
        caller_phone=row["caller_phone"],
        session_id=row["session_id"],
        callers=[
            WaitingCaller(
                reference=c["id"],
                name=c["name"],
                phone=c["phone"],
                session_id=c["session_id"],
                phone_verified=bool(c["phone_verified"]),
                joined_at=c["joined_at"],
                question=c["question"],
            )
            for c in callers
        ],
        created_at=row["created_at"],
        deadline_at=row["deadline_at"],
        resolved_at=row["resolved_at"],
        expired_at=row["expired_at"],
        answer=row["answer"],
        answered_by=row["answered_by"],
        knowledge_id=row["knowledge_id"],
        best_score=row["best_score"],
        dismissed_at=row["dismissed_at"],
        dismissed_by=row["dismissed_by"],
        transcript=earlier_turns(store, row["id"]),
    )

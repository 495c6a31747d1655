"""Call-backs, one per waiting caller (several callers can share one help request, and each needs a call).

A caller is due a call back when they left a phone number and either their request timed out, or they asked to
be called back instead of waiting (`request`), or they asked for a person or for what only staff can do (a
hand-off: no help request behind it). The supervisor marks each one done, with a note (`mark_done`).
Retention (desk/retention.py) forgets the name, phone and note like any caller's details, which also takes an
old call-back off the list."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Literal

from kb_service.desk import phones
from kb_service.errors import Conflict, NotFound
from kb_service.storage.store import Store, iso, now
from models.callbacks import CallbackPage, CallbackPublic, CallbackRequested

Status = Literal["open", "done", "all"]

# A dismissed request's callers get nothing, a call back included; a hand-off has no request (NULL status).
_DUE = (
    "c.phone IS NOT NULL AND c.phone != '' AND COALESCE(r.status, 'handoff') != 'dismissed'"
    " AND (r.status = 'unresolved' OR c.callback_requested_at IS NOT NULL)"
)
_WHERE = {
    "open": f"{_DUE} AND c.called_back_at IS NULL",
    "done": f"{_DUE} AND c.called_back_at IS NOT NULL",
    "all": _DUE,
}
# To call: the longest waiting first. Called back: the latest first.
_ORDER = {"open": "c.id", "done": "c.called_back_at DESC, c.id", "all": "c.called_back_at IS NOT NULL, c.id"}
# A hand-off (desk/conversation.py) is a call-back with no help request: hence the LEFT JOIN.
_FROM = "help_request_callers c LEFT JOIN help_requests r ON r.id = c.help_request_id"
_SELECT = f"SELECT c.*, r.status, r.question AS request_question, r.answer FROM {_FROM}"

ASKED_MESSAGE = "Thanks. Someone will call you back at {phone} as soon as they can."


def _public(row: sqlite3.Row) -> CallbackPublic:
    return CallbackPublic(
        id=row["id"],
        help_request_id=row["help_request_id"],
        reason="handoff"
        if row["help_request_id"] is None
        else "asked"
        if row["callback_requested_at"]
        else "timed_out",
        status=row["status"],
        name=row["name"],
        phone=row["phone"],
        phone_verified=bool(row["phone_verified"]),
        question=row["question"] or row["request_question"],
        asked_at=row["joined_at"],
        callback_requested_at=row["callback_requested_at"],
        answer=row["answer"],
        called_back_at=row["called_back_at"],
        note=row["callback_note"],
    )


def listed(store: Store, status: Status, limit: int, offset: int) -> CallbackPage:
    where = _WHERE[status]
    rows = store.query(f"{_SELECT} WHERE {where} ORDER BY {_ORDER[status]} LIMIT ? OFFSET ?", (limit, offset))
    total = store.scalar(f"SELECT COUNT(*) FROM {_FROM} WHERE {where}")
    return CallbackPage(items=[_public(r) for r in rows], total=total, limit=limit, offset=offset)


def get(store: Store, callback_id: int) -> CallbackPublic:
    row = store.query_one(f"{_SELECT} WHERE c.id = ? AND {_DUE}", (callback_id,))
    if row is None:
        raise NotFound(f"call-back {callback_id} does not exist")
    return _public(row)


def mark_done(store: Store, callback_id: int, note: str | None) -> CallbackPublic:
    """Guarded like the request lifecycle: only a call-back not yet done can be marked (409 otherwise)."""
    with store.write() as tx:
        due = tx.execute(
            f"SELECT c.called_back_at FROM {_FROM} WHERE c.id = ? AND {_DUE}",
            (callback_id,),
        ).fetchone()
        if due is None:
            raise NotFound(f"call-back {callback_id} does not exist")
        changed = tx.execute(
            "UPDATE help_request_callers SET called_back_at = ?, callback_note = ? WHERE id = ? AND called_back_at IS NULL",
            (iso(now()), note or None, callback_id),
        ).rowcount
        if not changed:
            raise Conflict(f"call-back {callback_id} was already marked called back")
    return get(store, callback_id)


def request(store: Store, session_id: str, reference: int, phone: str, name: str | None) -> CallbackRequested:
    """The caller of `reference`, in call session `session_id`, asks to be called back at `phone` instead of
    waiting. Asking again only updates the phone. 404 for a reference of another call (or none); 409 once the
    request is answered (the answer is on its way to the caller)."""
    stamp = iso(now())
    with store.write() as tx:
        row = tx.execute(
            "SELECT c.callback_requested_at, r.status FROM help_request_callers c"
            " JOIN help_requests r ON r.id = c.help_request_id WHERE c.id = ? AND c.session_id = ?",
            (reference, session_id),
        ).fetchone()
        if row is None:
            raise NotFound(f"this call has no question with reference {reference}")
        if row["status"] == "resolved":
            raise Conflict("that question has been answered already: the answer is on this page")
        requested = row["callback_requested_at"] or stamp
        tx.execute(
            "UPDATE help_request_callers SET phone = ?, name = COALESCE(?, name), callback_requested_at = ?,"
            " phone_verified = ? WHERE id = ?",
            (phone, name or None, requested, phones.is_verified(tx, session_id, phone), reference),
        )
    return CallbackRequested(
        reference=reference,
        callback_requested_at=datetime.fromisoformat(requested),
        message=ASKED_MESSAGE.format(phone=phone),
    )

"""Hand-offs: a caller who asks for a person, or for what only staff can do, gets a call-back (the supervisor's
Call-backs list) with their own words. No help request: nothing for the supervisor to answer or the agent to learn.
A number the caller said for one hand-off is the call's: a second hand-off in the same session reuses it."""

from __future__ import annotations

from kb_service.storage.store import Tx


def open_callback(tx: Tx, words: str, name: str | None, phone: str | None, session_id: str | None, stamp: str) -> int:
    """A call-back for the caller's request, listed once it has a number to call. Returns its id."""
    cur = tx.execute(
        "INSERT INTO help_request_callers (help_request_id, name, phone, session_id, joined_at, question,"
        " callback_requested_at) VALUES (NULL, ?, ?, ?, ?, ?, ?) RETURNING id",
        (name, phone, session_id, stamp, words, stamp),
    )
    return int(cur.fetchone()[0])


def attach_phone(tx: Tx, callback_id: int, phone: str) -> None:
    tx.execute(
        "UPDATE help_request_callers SET phone = ? WHERE id = ? AND help_request_id IS NULL", (phone, callback_id)
    )


def number_given(tx: Tx, session_id: str) -> str | None:
    """The number this session's caller said for an earlier hand-off (the latest), if any."""
    row = tx.execute(
        "SELECT c.phone FROM session_turns t JOIN help_request_callers c ON c.id = t.handoff_id"
        " WHERE t.session_id = ? AND t.handoff_id IS NOT NULL AND c.phone IS NOT NULL AND c.session_id = ?"
        " ORDER BY t.id DESC LIMIT 1",
        (session_id, session_id),
    ).fetchone()
    return row["phone"] if row is not None else None

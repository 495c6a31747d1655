"""Dismiss: a pending request that is not a question ("hello", "thanks, bye", a test) leaves the queue for good.

A guarded transition like resolve's (`WHERE status = 'pending'`): nobody is followed up or texted, nothing is
learned or labelled, and the sweeper never times it out into an apology, since it is no longer pending."""

from __future__ import annotations

from kb_service.desk.help_requests import HelpDesk
from kb_service.storage.store import iso, now
from models import HelpRequestPublic


def dismiss(desk: HelpDesk, help_request_id: int, dismissed_by: str) -> HelpRequestPublic:
    """404 for an unknown request, 409 if it is no longer pending (answered, timed out or dismissed)."""
    with desk.store.write() as tx:
        cur = tx.execute(
            "UPDATE help_requests SET status = 'dismissed', dismissed_at = ?, dismissed_by = ?"
            " WHERE id = ? AND status = 'pending'",
            (iso(now()), dismissed_by, help_request_id),
        )
        if cur.rowcount == 0:
            raise desk.not_pending(tx, help_request_id)
    return desk.get(help_request_id)

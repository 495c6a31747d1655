"""The help-request lifecycle: escalate (pending) → resolve (resolved) or time out (unresolved); dismiss
(dismissed) is in desk/dismissals.py.

Transitions are guarded by `WHERE status = 'pending'` inside one `BEGIN IMMEDIATE` transaction, which also
learns the answer and queues every follow-up, so a resolve and the sweeper can never both win."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from kb_service.desk import help_request_reads as reads
from kb_service.desk import outbox, phones, slack
from kb_service.desk.followups import FollowUps
from kb_service.desk.pending import PendingQuestions
from kb_service.desk.texts import TextCaps
from kb_service.embedding import to_blob
from kb_service.errors import Conflict, NotFound
from kb_service.knowledge.entries import KnowledgeBase
from kb_service.matching.live import Verdicts
from kb_service.storage.idempotency import IdempotencyKey
from kb_service.storage.store import Effect, Store, Tx, iso, iso_in, now
from models import (
    AskOutcome,
    AskResponse,
    Caller,
    HelpRequestPublic,
    HelpRequestStatus,
    ResolveRequest,
    ResolveResponse,
)

CHECKING_MESSAGE = (
    "Good question. Let me check with my supervisor and get back to you. "
    "I'll tell you here as soon as I know, and by text if you confirmed your number."
)


@dataclass(frozen=True)
class Escalation:
    help_request_id: int  # the request, as the supervisor sees it
    joined_existing: bool
    caller_reference: int  # this caller's own reference: tells them nothing about other callers

    def response(self, score: float) -> AskResponse:
        """What the caller hears: the supervisor will get back to them, under their own reference."""
        return AskResponse(
            outcome=AskOutcome.escalated,
            answer=None,
            knowledge_id=None,
            score=score,
            reference=self.caller_reference,
            message=CHECKING_MESSAGE,
        )


@dataclass(frozen=True)
class Channels:
    """Where notifications go, beside the console."""

    supervisor_webhook_url: str | None = None
    caller_webhook_url: str | None = None
    supervisor_webhook_format: str = "standard"  # or "slack": a Slack incoming-webhook message (desk/slack.py)
    console_url: str | None = None  # the console's public address, for the link in a Slack message
    call_url: str | None = None  # the call page's public address (KB_PUBLIC_URL), for the link in a text
    text_caps: TextCaps = TextCaps()  # texts an hour per number, per client IP and in all


class HelpDesk:
    def __init__(
        self,
        store: Store,
        kb: KnowledgeBase,
        business_name: str,
        timeout_seconds: float,
        duplicate_threshold: float,
        channels: Channels,
        verdicts: Verdicts,
        queued: Effect,
    ):
        self.store = store
        self.kb = kb
        self.business_name = business_name
        self.timeout_seconds = timeout_seconds
        self.duplicate_threshold = duplicate_threshold
        self.channels = channels
        self.verdicts = verdicts
        self.queued = queued  # after a commit that queued notifications: wakes the outbox's worker
        self.pending = PendingQuestions(kb.embedder.dimension)
        self.followups = FollowUps(
            store, business_name, queued, channels.caller_webhook_url, channels.call_url, channels.text_caps
        )

    # ---- escalate

    def escalate(
        self,
        tx: Tx,
        question: str,
        vector: np.ndarray,
        caller: Caller,
        session_id: str | None,
        best_score: float | None,
        at: datetime | None = None,
        best: tuple[int, float] | None = None,
    ) -> Escalation:
        """Open a pending request, or join this caller to a pending one asking the same thing. `at`: the
        transaction's time (now if not given); `best`: the entry the matcher thought closest, and its confidence
        (the supervisor's resolve labels that match right or wrong)."""
        # The pending cache may now hold rows this transaction wrote: a rollback makes their ids mean nothing.
        tx.on_rollback(self.pending.forget)
        existing = self._same_pending_question(tx, vector)
        at = at or now()
        stamp = iso(at)
        if existing is not None:
            help_request_id, joined = existing, True
        else:
            cur = tx.execute(
                "INSERT INTO help_requests (question, embedding, status, caller_name, caller_phone, session_id,"
                " best_score, best_knowledge_id, best_confidence, created_at, deadline_at)"
                " VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    question,
                    to_blob(vector),
                    caller.name,
                    caller.phone,
                    session_id,
                    best_score,
                    *(best or (None, None)),
                    stamp,
                    iso_in(self.timeout_seconds, at),
                ),
            )
            help_request_id, joined = int(cur.fetchone()[0]), False
            self.pending.opened(help_request_id, vector)
            self._notify_supervisor(tx, help_request_id, question, stamp)
        # A number is texted only once the session's caller proved it (desk/phones.py); any other stays for a call.
        phone = caller.phone or phones.verified_phone(tx, session_id)
        verified = phones.is_verified(tx, session_id, phone)
        cur = tx.execute(
            "INSERT INTO help_request_callers (help_request_id, name, phone, session_id, joined_at, question,"
            " phone_verified) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (help_request_id, caller.name, phone, session_id, stamp, question, verified),
        )
        return Escalation(help_request_id, joined, int(cur.fetchone()[0]))

    def _same_pending_question(self, tx: Tx, vector: np.ndarray) -> int | None:
        nearest = self.pending.nearest(tx, vector)
        return nearest[0] if nearest is not None and nearest[1] >= self.duplicate_threshold else None

    def _notify_supervisor(self, tx: Tx, help_request_id: int, question: str, stamp: str) -> None:
        payload = {
            "help_request_id": help_request_id,
            "question": question,
            "text": f'Hey, I need help answering: "{question}" (request {help_request_id})',
        }
        outbox.queue(tx, "help_request.created", outbox.CONSOLE, payload, stamp=stamp)
        tx.on_commit(self.queued)
        url = self.channels.supervisor_webhook_url
        if url and self.channels.supervisor_webhook_format == "slack":
            sent = {**payload, "created_at": stamp, "console_url": self.channels.console_url}
            outbox.queue(tx, "help_request.created", slack.CHANNEL, sent, url, stamp)
        elif url:
            outbox.queue(tx, "help_request.created", outbox.WEBHOOK, payload, url, stamp)

    # ---- resolve

    def resolve(
        self,
        help_request_id: int,
        body: ResolveRequest,
        answered_by: str = "supervisor",
        idempotency: IdempotencyKey | None = None,
    ) -> ResolveResponse:
        row = reads.find(self.store, help_request_id)
        learned_question = body.question or row["question"]
        # A personal answer is learned only if the supervisor says so, and sent only to the asker and those ticked.
        why_personal, only = self.followups.personal(help_request_id, body.answer, body.include_references)
        learn = body.learn if body.learn is not None else not why_personal
        vector = self.kb.embedder.embed([learned_question]) if learn else None
        knowledge_id = body.knowledge_id
        with self.store.write() as tx:
            if idempotency and (earlier := idempotency.replay(tx)) is not None:
                return ResolveResponse.model_validate(earlier)
            cur = tx.execute(
                "UPDATE help_requests SET status = 'resolved', resolved_at = ?, answer = ?, answered_by = ?,"
                " knowledge_id = ? WHERE id = ? AND status = 'pending'",
                (iso(now()), body.answer, body.answered_by or answered_by, knowledge_id, help_request_id),
            )
            if cur.rowcount == 0:
                raise self.not_pending(tx, help_request_id)
            if row["best_knowledge_id"] is not None:  # was the matcher's best candidate the right answer?
                right = knowledge_id == row["best_knowledge_id"]
                self.verdicts.record(tx, row["best_knowledge_id"], row["best_confidence"], right, "resolve")
            if vector is not None and knowledge_id is not None:
                self.kb.writes.insert_phrasings(tx, knowledge_id, [learned_question], vector)
            elif vector is not None:
                knowledge_id = self.kb.writes.insert_entry(tx, body.answer, [learned_question], vector)
                tx.execute("UPDATE help_requests SET knowledge_id = ? WHERE id = ?", (knowledge_id, help_request_id))
            followups = self.followups.queue(tx, help_request_id, row["question"], "resolved", body.answer, only)
            # Read inside the transaction (same connection), so a replay returns exactly this response.
            response = ResolveResponse(
                help_request=self.get(help_request_id),
                knowledge_id=knowledge_id,
                followups_queued=followups,
                learned=learn,
                personal_reasons=why_personal,
            )
            if idempotency:
                idempotency.remember(tx, response)
        return response

    def not_pending(self, tx: Tx, help_request_id: int) -> Exception:
        row = tx.execute("SELECT status FROM help_requests WHERE id = ?", (help_request_id,)).fetchone()
        if row is None:
            return NotFound(f"help request {help_request_id} does not exist")
        return Conflict(f"help request {help_request_id} is already {row['status']}")

    # ---- time out

    def expire_overdue(self) -> list[int]:
        """Mark pending requests past their deadline unresolved and apologise to their callers."""
        due = [
            r["id"]
            for r in self.store.query(
                "SELECT id FROM help_requests WHERE status = 'pending' AND deadline_at <= ?", (iso(now()),)
            )
        ]
        expired = []
        for help_request_id in due:
            with self.store.write() as tx:
                row = tx.execute("SELECT question FROM help_requests WHERE id = ?", (help_request_id,)).fetchone()
                cur = tx.execute(
                    "UPDATE help_requests SET status = 'unresolved', expired_at = ?"
                    " WHERE id = ? AND status = 'pending'",
                    (iso(now()), help_request_id),
                )
                if cur.rowcount:
                    self.followups.queue(tx, help_request_id, row["question"], "unresolved", None)
                    expired.append(help_request_id)
        return expired

    # ---- reads (desk/help_request_reads.py)

    def get(self, help_request_id: int) -> HelpRequestPublic:
        return reads.get(self.store, help_request_id)

    def list(
        self, status: HelpRequestStatus | None, limit: int, offset: int, oldest_first: bool = False
    ) -> tuple[list[HelpRequestPublic], int]:
        return reads.listing(self.store, status, limit, offset, oldest_first)

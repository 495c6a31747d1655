"""Confirmation with the caller: between "sure enough to answer" and "escalate", the agent asks instead of guessing.

"Just to check — are you asking …?" is built from the entry's own wording. The caller's yes answers (and labels
the match right); a no escalates the question to the supervisor (and labels it wrong), whether it comes through
POST /api/confirmations/{id} or as the call's next turn ("yeah, that's right"). A confirmation is answered once,
within CONFIRM_SECONDS; its id is random, so only the caller who asked holds it, and a turn answers only its own
session's. One left unanswered is escalated when it expires, so the question is never lost. A yes also keeps the
caller's words as a pending phrasing of the entry (`desk/pending_phrasings.py`)."""

from __future__ import annotations

import secrets
from datetime import datetime

import numpy as np

from kb_service.desk.help_requests import HelpDesk
from kb_service.desk.pending_phrasings import PendingPhrasings
from kb_service.desk.sessions import client_address
from kb_service.embedding import from_blob, to_blob
from kb_service.errors import Conflict, NotFound
from kb_service.matching.matcher import Decision
from kb_service.storage.store import Row, Store, Tx, iso, iso_in, now
from models import AskOutcome, AskRequest, AskResponse, Caller

CONFIRM_SECONDS = 300
# After the caller's no: no "Good question" (it was the agent that misunderstood), just that it will check.
MISUNDERSTOOD_MESSAGE = (
    "Sorry, I misunderstood. Let me check your question with someone and get back to you: I'll tell you here as"
    " soon as I know, and by text if you left your number."
)


def confirm_message(phrasing: str) -> str:
    return f'Just to check — are you asking: "{phrasing.strip()}"'


class Confirmations:
    def __init__(self, store: Store, desk: HelpDesk, phrasings: PendingPhrasings):
        self.store = store
        self.desk = desk
        self.phrasings = phrasings

    def open(
        self, tx: Tx, ask: AskRequest, vector: np.ndarray, decision: Decision, at: datetime, words: str | None = None
    ) -> AskResponse | None:
        """Ask the caller to confirm the best entry; None if that entry is gone (the caller escalates). `words`: the
        caller's question on its own, to learn from a yes (None when it was read with the call's previous one)."""
        best = decision.best
        if best is None:  # nothing to confirm: the caller escalates
            return None
        row = tx.execute(
            "SELECT question FROM phrasings WHERE knowledge_id = ? ORDER BY (id = ?) DESC, id LIMIT 1",
            (best.knowledge_id, best.phrasing_id),
        ).fetchone()
        if row is None:
            return None
        confirmation_id = secrets.token_urlsafe(16)
        tx.execute(
            "INSERT INTO confirmations (id, question, embedding, knowledge_id, score, confidence, caller_name,"
            " caller_phone, session_id, created_at, expires_at, words, client_ip) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?, (SELECT client_ip FROM caller_sessions WHERE id = ?))",
            (
                confirmation_id,
                ask.question,
                to_blob(vector),
                best.knowledge_id,
                decision.score,
                decision.confidence,
                ask.caller.name,
                ask.caller.phone,
                ask.session_id,
                iso(at),
                iso_in(CONFIRM_SECONDS, at),
                words,
                ask.session_id,  # the address its session was opened from: one label per address and entry
            ),
        )
        return AskResponse(
            outcome=AskOutcome.confirm,
            answer=None,
            knowledge_id=best.knowledge_id,
            score=decision.score,
            reference=None,
            message=confirm_message(row["question"]),
            confirmation_id=confirmation_id,
        )

    def session_of(self, confirmation_id: str) -> str | None:
        """The call session the confirmation was asked in (its token is needed to answer it), if any."""
        return self.store.scalar("SELECT session_id FROM confirmations WHERE id = ?", (confirmation_id,))

    def settle(self, confirmation_id: str, confirmed: bool, client_ip: str | None = None) -> AskResponse:
        """The caller's yes (the entry's answer, and their words kept as a pending phrasing) or no (escalated to
        the supervisor). 409 if answered already or expired. `client_ip`: where the yes came from (counted when the
        session has no address of its own)."""
        at = now()
        asked = self.store.query_one(
            "SELECT words, question, session_id FROM confirmations WHERE id = ? AND status = 'open'",
            (confirmation_id,),
        )
        words_vector = None
        if confirmed and asked is not None and self.phrasings.learnable(asked["words"], asked["session_id"]):
            if asked["words"] != asked["question"]:  # the ask's stored vector is of other words: embedded here,
                words_vector = self.phrasings.embed(asked["words"])  # before the write lock
        with self.store.write() as tx:
            row = tx.execute("SELECT * FROM confirmations WHERE id = ?", (confirmation_id,)).fetchone()
            if row is None:
                raise NotFound("no such confirmation")
            if row["status"] != "open":
                raise Conflict(f"this confirmation was already answered ({row['status']})")
            if row["expires_at"] <= iso(at):
                raise Conflict("this confirmation has expired: ask the question again")
            response = self._settle(tx, row, confirmed, at, words_vector, client_ip)
            if response is None:
                raise Conflict("this confirmation was already answered")
        return response

    def settle_said(self, tx: Tx, session_id: str, question: str, confirmed: bool, at: datetime) -> AskResponse | None:
        """A yes or no said as a turn of the call: settles the session's latest check, asked about `question`,
        as the caller's answer through POST /api/confirmations/{id} would. None when that check is answered
        already or expired (or was asked in another session)."""
        row = tx.execute(
            "SELECT c.* FROM ask_log a JOIN confirmations c ON c.id = a.confirmation_id"
            " WHERE a.session_id = ? AND a.confirmation_id IS NOT NULL ORDER BY a.id DESC LIMIT 1",
            (session_id,),
        ).fetchone()
        if row is None or row["session_id"] != session_id or row["question"] != question:
            return None
        if row["status"] != "open" or row["expires_at"] <= iso(at):
            return None
        return self._settle(tx, row, confirmed, at)

    def _settle(
        self,
        tx: Tx,
        row: Row,
        confirmed: bool,
        at: datetime,
        words_vector: np.ndarray | None = None,
        client_ip: str | None = None,
    ) -> AskResponse | None:
        """Answer an open confirmation (None if another answer took it first): the entry's answer for a yes, the
        supervisor for a no; the verdict labels the match either way. A yes keeps the caller's words as a pending
        phrasing (their vector: `words_vector`, or the ask's own when the words are the whole question)."""
        stamp = iso(at)
        status = "confirmed" if confirmed else "declined"
        claimed = tx.execute(
            "UPDATE confirmations SET status = ?, answered_at = ? WHERE id = ? AND status = 'open'",
            (status, stamp, row["id"]),
        ).rowcount
        if not claimed:
            return None
        answer = (
            tx.execute("SELECT answer FROM knowledge_entries WHERE id = ?", (row["knowledge_id"],)).fetchone()
            if confirmed
            else None
        )
        self.desk.verdicts.record(tx, row["knowledge_id"], row["confidence"], confirmed, "confirmation")
        if answer is not None:
            tx.execute(
                "UPDATE knowledge_entries SET hit_count = hit_count + 1, last_used_at = ? WHERE id = ?",
                (stamp, row["knowledge_id"]),
            )
            self._learn(tx, row, words_vector, client_ip, stamp)
            response = AskResponse(
                outcome=AskOutcome.answered,
                answer=answer["answer"],
                knowledge_id=row["knowledge_id"],
                score=row["score"],
                reference=None,
                message=answer["answer"],
            )
        else:  # a no, or the entry was deleted meanwhile
            response = self._escalate(tx, row, at)
            if not confirmed:
                response.message = MISUNDERSTOOD_MESSAGE
        response = response.model_copy(update={"confidence": round(row["confidence"] or 0.0, 4)})
        _log_outcome(tx, row["id"], response)
        return response

    def _learn(self, tx: Tx, row: Row, words_vector: np.ndarray | None, client_ip: str | None, stamp: str) -> None:
        words, session_id = row["words"], row["session_id"]
        if not self.phrasings.learnable(words, session_id):
            return
        if words_vector is None:
            if words != row["question"] or not row["embedding"]:
                return  # no vector of these words at hand, and none is computed under the write lock
            words_vector = from_blob(row["embedding"])
        # Where the call was opened from, else this yes (counted as sessions count it: an IPv6 client as its /64).
        address = row["client_ip"] or client_address(client_ip)
        self.phrasings.learn(tx, row["knowledge_id"], words, words_vector, session_id, address, stamp)

    def expire_overdue(self) -> int:
        """Escalate the confirmations nobody answered in time. Returns how many."""
        at = now()
        due = [
            r["id"]
            for r in self.store.query(
                "SELECT id FROM confirmations WHERE status = 'open' AND expires_at <= ?", (iso(at),)
            )
        ]
        for confirmation_id in due:
            with self.store.write() as tx:
                row = tx.execute(
                    "SELECT * FROM confirmations WHERE id = ? AND status = 'open'", (confirmation_id,)
                ).fetchone()
                if row is None:  # answered meanwhile
                    continue
                tx.execute(
                    "UPDATE confirmations SET status = 'expired', answered_at = ? WHERE id = ?",
                    (iso(at), confirmation_id),
                )
                _log_outcome(tx, confirmation_id, self._escalate(tx, row, at))
        return len(due)

    def _escalate(self, tx: Tx, row: Row, at: datetime) -> AskResponse:
        caller = Caller(name=row["caller_name"], phone=row["caller_phone"])
        escalation = self.desk.escalate(
            tx,
            row["question"],
            from_blob(row["embedding"]),
            caller,
            row["session_id"],
            row["score"],
            at,
            best=(row["knowledge_id"], row["confidence"]),
        )
        return escalation.response(row["score"])


def _log_outcome(tx: Tx, confirmation_id: str, response: AskResponse) -> None:
    """The ask that asked the confirmation is logged with its final outcome in place of `confirm`."""
    tx.execute(
        "UPDATE ask_log SET outcome = ?, help_request_id = ? WHERE confirmation_id = ?",
        (response.outcome.value, response.reference, confirmation_id),
    )

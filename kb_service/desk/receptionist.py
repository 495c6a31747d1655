"""The agent's side of a call: answer from the knowledge base when sure, otherwise escalate."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import numpy as np

from kb_service.desk.help_requests import HelpDesk
from kb_service.knowledge.entries import KnowledgeBase
from kb_service.matching.matcher import Decision, Matcher
from kb_service.storage.idempotency import IdempotencyKey
from kb_service.storage.store import iso, now
from models import AskOutcome, AskRequest, AskResponse

CHECKING_MESSAGE = (
    "Good question. Let me check with my supervisor and get back to you. "
    "I'll tell you here as soon as I know, and by text if you left your number."
)


class Receptionist:
    def __init__(self, kb: KnowledgeBase, matcher: Matcher, desk: HelpDesk):
        self.kb = kb
        self.matcher = matcher
        self.desk = desk

    def respond(
        self, vectors: np.ndarray, asks: list[AskRequest], keys: list[IdempotencyKey | None]
    ) -> list[AskResponse | Exception]:
        """Match a batch of embedded asks, then answer or escalate each: one index search and one transaction.

        Each ask runs in its own savepoint, so one that fails (a reused Idempotency-Key, say) gets its error
        and leaves the others' effects in place. Nothing is acknowledged before the commit."""
        decisions = self.matcher.match(vectors, [ask.question for ask in asks], guard_all=False)
        results: list[AskResponse | Exception] = []
        at = now()  # one time for the batch's rows: they commit together
        try:
            with self.kb.store.write() as tx:
                for vector, ask, key, decision in zip(vectors, asks, keys, decisions, strict=True):
                    tx.execute("SAVEPOINT ask")
                    try:
                        results.append(self._record(tx, vector, ask, key, decision, at))
                    except Exception as exc:  # this caller gets the error; the batch goes on
                        tx.execute("ROLLBACK TO ask")
                        self.desk.pending.forget()  # it may hold a request that savepoint opened
                        results.append(exc)
                    tx.execute("RELEASE ask")
        except BaseException:
            self.desk.pending.forget()  # it may hold requests this transaction created and then lost
            raise
        return results

    def _record(
        self,
        tx: sqlite3.Connection,
        vector: np.ndarray,
        ask: AskRequest,
        idempotency: IdempotencyKey | None,
        decision: Decision,
        at: datetime,
    ) -> AskResponse:
        if idempotency and (earlier := idempotency.replay(tx)) is not None:
            return AskResponse.model_validate(earlier)
        best_id = decision.best.knowledge_id if decision.best else None
        stamp = iso(at)
        answer = None
        if decision.answer:  # None if the entry was deleted since the search: then it escalates
            row = tx.execute("SELECT answer FROM knowledge_entries WHERE id = ?", (best_id,)).fetchone()
            answer = row["answer"] if row else None
        if answer is not None:
            self.kb.record_hit(tx, best_id, stamp)
            response = AskResponse(
                outcome=AskOutcome.answered,
                answer=answer,
                knowledge_id=best_id,
                score=decision.score,
                help_request_id=None,
                message=answer,
            )
        else:
            escalation = self.desk.escalate(
                tx, ask.question, vector, ask.caller, ask.session_id, decision.score if decision.best else None, at
            )
            response = AskResponse(
                outcome=AskOutcome.escalated,
                answer=None,
                knowledge_id=None,
                score=decision.score,
                help_request_id=escalation.help_request_id,
                message=CHECKING_MESSAGE,
            )
        tx.execute(
            "INSERT INTO ask_log (asked_at, question, outcome, best_score, margin, knowledge_id,"
            " help_request_id, session_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                stamp,
                ask.question,
                response.outcome.value,
                decision.score,
                decision.margin,
                best_id,
                response.help_request_id,
                ask.session_id,
            ),
        )
        if idempotency:
            idempotency.remember(tx, response)
        return response

"""The agent's side of a call: answer from the knowledge base when sure, otherwise escalate."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime

import numpy as np

from kb_service.help_requests import HelpDesk
from kb_service.idempotency import IdempotencyKey
from kb_service.knowledge import KnowledgeBase
from kb_service.matcher import Decision, Matcher
from kb_service.store import iso, now
from models import AskOutcome, AskRequest, AskResponse

CHECKING_MESSAGE = (
    "Good question. Let me check with my supervisor and get back to you. "
    "I'll tell you here as soon as I know, and by text if you left your number."
)


class _EntryGone(Exception):
    pass


class _LoneAskFailed(Exception):
    """A batch's only ask failed: its transaction rolls back whole (for a lone ask, that is its savepoint)."""

    def __init__(self, error: Exception):
        super().__init__(str(error))
        self.error = error


class Receptionist:
    def __init__(self, kb: KnowledgeBase, matcher: Matcher, desk: HelpDesk):
        self.kb = kb
        self.matcher = matcher
        self.desk = desk

    def ask(self, body: AskRequest, idempotency: IdempotencyKey | None = None) -> AskResponse:
        """One ask on its own (the service batches them through `AskPipeline`, which calls `answer`)."""
        result = self.answer(self.kb.embedder.embed([body.question]), [body], [idempotency])[0]
        if isinstance(result, Exception):
            raise result
        return result

    def answer(self, vectors: np.ndarray, bodies: list[AskRequest],
               keys: list[IdempotencyKey | None]) -> list[AskResponse | Exception]:
        """Decide and record a batch of embedded asks: one index search and one transaction for all.

        Each ask runs in its own savepoint, so one that fails (a reused Idempotency-Key, say) gets its error
        and leaves the others' effects in place (a lone ask needs none: its failure rolls back the transaction). Nothing is acknowledged before the commit. A batch that only
        answers (no escalation, no Idempotency-Key) records nothing anyone was promised, just the ask log and
        hit counts, so its commit skips the fsync (docs/reliability.md)."""
        decisions = self.matcher.match(vectors, [body.question for body in bodies], guard_all=False)
        durable = any(key is not None for key in keys) or not all(d.answer for d in decisions)
        try:
            return self._record_all(vectors, bodies, keys, decisions, durable)
        except _EntryGone:  # an entry the batch would answer from was deleted meanwhile: it escalates instead
            return self._record_all(vectors, bodies, keys, decisions, durable=True)

    def _record_all(self, vectors: np.ndarray, bodies: list[AskRequest], keys: list[IdempotencyKey | None],
                    decisions: list[Decision], durable: bool) -> list[AskResponse | Exception]:
        results: list[AskResponse | Exception] = []
        at = now()  # one time for the batch's rows: they commit together
        lone = len(bodies) == 1  # no savepoint: if the ask fails, the whole transaction rolls back instead
        try:
            with self.kb.store.write(durable) as tx, self._pending_scope(tx, durable):
                for vector, body, key, decision in zip(vectors, bodies, keys, decisions, strict=True):
                    if not lone:
                        tx.execute("SAVEPOINT ask")
                    try:
                        results.append(self._record(tx, vector, body, key, decision, durable, at))
                    except _EntryGone:
                        raise
                    except Exception as exc:  # this caller gets the error; the batch goes on
                        if lone:
                            raise _LoneAskFailed(exc) from exc
                        tx.execute("ROLLBACK TO ask")
                        self.desk.pending.forget()  # it may hold a request that savepoint opened
                        results.append(exc)
                    if not lone:
                        tx.execute("RELEASE ask")
        except _LoneAskFailed as failed:  # rolled back, like a savepoint; the caller gets the error
            self.desk.pending.forget()
            return [failed.error]
        except BaseException:
            self.desk.pending.forget()  # it may hold requests this transaction created and then lost
            raise
        return results

    def _pending_scope(self, tx: sqlite3.Connection, durable: bool) -> AbstractContextManager:
        """Only a durable batch can escalate, so only it needs the pending queue's transaction scope."""
        return self.desk.pending.writing(tx) if durable else nullcontext()

    def _record(self, tx: sqlite3.Connection, vector: np.ndarray, body: AskRequest,
                idempotency: IdempotencyKey | None, decision: Decision, durable: bool, at: datetime) -> AskResponse:
        if idempotency and (earlier := idempotency.replay(tx)) is not None:
            return AskResponse.model_validate(earlier)
        best_id = decision.best.knowledge_id if decision.best else None
        stamp = iso(at)
        answer = None
        if decision.answer:
            row = tx.execute("SELECT answer FROM knowledge_entries WHERE id = ?", (best_id,)).fetchone()
            answer = row["answer"] if row else None  # None: deleted since the search
            if answer is None and not durable:
                raise _EntryGone  # an escalation must be durable: the batch starts over with a durable commit
        if answer is not None:
            self.kb.record_hit(tx, best_id, stamp)
            response = AskResponse(outcome=AskOutcome.answered, answer=answer, knowledge_id=best_id,
                                   score=decision.score, help_request_id=None, message=answer)
        else:
            escalation = self.desk.escalate(tx, body.question, vector, body.caller, body.session_id,
                                            decision.score if decision.best else None, at)
            response = AskResponse(outcome=AskOutcome.escalated, answer=None, knowledge_id=None,
                                   score=decision.score, help_request_id=escalation.help_request_id,
                                   message=CHECKING_MESSAGE)
        tx.execute(
            "INSERT INTO ask_log (asked_at, question, outcome, best_score, margin, knowledge_id,"
            " help_request_id, session_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (stamp, body.question, response.outcome.value, decision.score, decision.margin, best_id,
             response.help_request_id, body.session_id),
        )
        if idempotency:
            idempotency.remember(tx, response)
        return response

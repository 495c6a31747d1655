"""The agent's side of a call: answer from the knowledge base when sure, ask the caller to confirm when nearly
sure, otherwise escalate to the supervisor."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from kb_service.desk import audits
from kb_service.desk.confirmations import Confirmations
from kb_service.desk.help_requests import HelpDesk
from kb_service.knowledge.entries import KnowledgeBase
from kb_service.matching.matcher import ANSWER, CONFIRM, Decision, Matcher
from kb_service.storage.idempotency import IdempotencyKey
from kb_service.storage.store import Tx, iso, now
from models import AskOutcome, AskRequest, AskResponse


class Receptionist:
    def __init__(self, kb: KnowledgeBase, matcher: Matcher, desk: HelpDesk, confirmations: Confirmations):
        self.kb = kb
        self.matcher = matcher
        self.desk = desk
        self.confirmations = confirmations

    def respond(
        self, vectors: np.ndarray, asks: list[AskRequest], keys: list[IdempotencyKey | None]
    ) -> list[AskResponse | Exception]:
        """Match a batch of embedded asks, then answer or escalate each: one index search and one transaction.

        Each ask runs in its own savepoint, so one that fails (a reused Idempotency-Key, say) gets its error
        and leaves the others' effects in place. Nothing is acknowledged before the commit.
        First the index catches up with what other replicas learned: an ask sees every resolve acknowledged
        before it started, on any replica."""
        self.kb.sync_if_changed_elsewhere()
        decisions = self.matcher.match(vectors, [ask.question for ask in asks], guard_all=False)
        results: list[AskResponse | Exception] = []
        at = now()  # one time for the batch's rows: they commit together
        with self.kb.store.write() as tx:
            for vector, ask, key, decision in zip(vectors, asks, keys, decisions, strict=True):
                try:
                    with tx.savepoint():
                        results.append(self._record(tx, vector, ask, key, decision, at))
                except Exception as exc:  # this caller gets the error; the batch goes on
                    results.append(exc)
        return results

    def _record(
        self,
        tx: Tx,
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
        response = None
        if decision.outcome == ANSWER:  # None if the entry was deleted since the search: then it escalates
            response = self._answer(tx, ask, decision, stamp)
        elif decision.outcome == CONFIRM:
            response = self.confirmations.open(tx, ask, vector, decision, at)
        if response is None:
            best = (best_id, decision.confidence) if decision.best else None
            escalation = self.desk.escalate(
                tx,
                ask.question,
                vector,
                ask.caller,
                ask.session_id,
                decision.score if decision.best else None,
                at,
                best=best,
            )
            response = escalation.response(decision.score)
        tx.execute(
            "INSERT INTO ask_log (asked_at, question, outcome, best_score, margin, confidence, knowledge_id,"
            " help_request_id, session_id, confirmation_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                stamp,
                ask.question,
                response.outcome.value,
                decision.score,
                decision.margin,
                decision.confidence if decision.best else None,
                best_id,
                response.reference,
                ask.session_id,
                response.confirmation_id,
            ),
        )
        if idempotency:
            idempotency.remember(tx, response)
        return response

    def _answer(self, tx: Tx, ask: AskRequest, decision: Decision, stamp: str) -> AskResponse | None:
        knowledge_id = decision.best.knowledge_id
        row = self.kb.writes.record_hit(tx, knowledge_id, stamp)
        if row is None:
            return None
        audits.sample(tx, ask.question, row["answer"], knowledge_id, decision.confidence, stamp, row["hit_count"])
        return AskResponse(
            outcome=AskOutcome.answered,
            answer=row["answer"],
            knowledge_id=knowledge_id,
            score=decision.score,
            reference=None,
            message=row["answer"],
        )

"""The agent's side of a call: the conversation step first (desk/conversation.py: greetings, thanks, asking for a
person), then answer from the knowledge base when sure, ask the caller to confirm when nearly sure, otherwise
escalate to the supervisor. A short or unsure turn right after a question is matched again with that question
as context ("what about Saturday?"), and two questions in one turn are answered together."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from kb_service.conversation import turns
from kb_service.conversation.intents import IntentReader
from kb_service.conversation.replies import CHECKING_THE_OTHER
from kb_service.desk import audits
from kb_service.desk.confirmations import Confirmations
from kb_service.desk.conversation import Conversation
from kb_service.desk.help_requests import HelpDesk
from kb_service.desk.reading import Heard, Part, follow_ups
from kb_service.knowledge.entries import KnowledgeBase
from kb_service.matching.matcher import ANSWER, CONFIRM, Decision, Matcher
from kb_service.storage.idempotency import IdempotencyKey
from kb_service.storage.store import Tx, iso, now
from models import AskOutcome, AskRequest, AskResponse


class Receptionist:
    def __init__(
        self,
        kb: KnowledgeBase,
        matcher: Matcher,
        desk: HelpDesk,
        confirmations: Confirmations,
        reader: IntentReader,
        conversation: Conversation,
    ):
        self.kb = kb
        self.matcher = matcher
        self.desk = desk
        self.confirmations = confirmations
        self.reader = reader
        self.conversation = conversation

    def respond(
        self,
        vectors: np.ndarray,
        asks: list[AskRequest],
        keys: list[IdempotencyKey | None],
        parts: list[list[Part]] | None = None,
    ) -> list[AskResponse | Exception]:
        """Match a batch of embedded asks, then answer or escalate each: one index search and one transaction.

        Each ask runs in its own savepoint, so one that fails (a reused Idempotency-Key, say) gets its error
        and leaves the others' effects in place. Nothing is acknowledged before the commit.
        First the index catches up with what other replicas learned: an ask sees every resolve acknowledged
        before it started, on any replica."""
        self.kb.sync_if_changed_elsewhere()
        heard = self._hear(vectors, asks, parts or [[] for _ in asks])
        results: list[AskResponse | Exception] = []
        at = now()  # one time for the batch's rows: they commit together
        with self.kb.store.write() as tx:
            for one, key in zip(heard, keys, strict=True):
                try:
                    with tx.savepoint():
                        results.append(self._record(tx, one, key, at))
                except Exception as exc:  # this caller gets the error; the batch goes on
                    results.append(exc)
        return results

    def _hear(self, vectors: np.ndarray, asks: list[AskRequest], parts: list[list[Part]]) -> list[Heard]:
        """Read every ask of the batch, match them (one search), then follow-ups and two-question turns."""
        readings = [self.reader.read(ask.question, vector) for ask, vector in zip(asks, vectors, strict=True)]
        decisions = self.matcher.match(vectors, [r.question for r in readings], guard_all=False)
        heard = [
            Heard(
                ask,
                vector,
                reading,
                turns.recent(self.kb.store, ask.session_id) if ask.session_id else [],
                decision,
                its_parts if reading.intent is None else [],
            )
            for ask, vector, reading, decision, its_parts in zip(asks, vectors, readings, decisions, parts, strict=True)
        ]
        follow_ups(self.matcher, heard)
        asked = [part for one in heard for part in one.parts]
        if asked:
            matched = self.matcher.match(np.stack([p.vector for p in asked]), [p.question for p in asked], False)
            for part, decision in zip(asked, matched, strict=True):
                part.decision = decision
        return heard

    def _record(self, tx: Tx, heard: Heard, idempotency: IdempotencyKey | None, at: datetime) -> AskResponse:
        if idempotency and (earlier := idempotency.replay(tx)) is not None:
            return AskResponse.model_validate(earlier)
        ask, decision = heard.ask, heard.decision
        stamp = iso(at)
        handled = self.conversation.handle(tx, ask, heard.reading, heard.history, decision, at)
        awaiting = None
        if handled is not None:
            response, awaiting = handled.response, handled.awaiting_number
        elif heard.parts and (both := self._both(tx, heard, at)) is not None:
            response = both
        else:
            # The caller's own words: the queue shows the call's earlier turns beside them (a request's transcript)
            # The caller's words teach only when they were matched on their own, not with the previous question.
            own = heard.context is None
            response = self._question(tx, heard.reading.question, heard.vector, ask, decision, at, learnable=own)
        questioned = handled is None
        if questioned:  # the number the thresholds were compared with
            response = response.model_copy(
                update={"confidence": round(decision.confidence, 4) if decision.best else 0.0}
            )
        # A yes or no that settled a check is a conversational turn: the question's own row has the outcome.
        settled = handled is not None and handled.settled_check
        outcome = AskOutcome.replied.value if settled else response.outcome.value
        tx.execute(
            "INSERT INTO ask_log (asked_at, question, outcome, best_score, margin, confidence, knowledge_id,"
            " help_request_id, session_id, confirmation_id, client_ip) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " (SELECT client_ip FROM caller_sessions WHERE id = ?))",
            (
                stamp,
                ask.question,
                outcome,
                decision.score,
                decision.margin,
                decision.confidence if decision.best and questioned else None,
                decision.best.knowledge_id if decision.best and questioned else None,
                None if settled else response.reference,
                ask.session_id,
                response.confirmation_id,
                ask.session_id,  # the address its session was opened from: the check band's window is per client
            ),
        )
        if ask.session_id:
            vector = (heard.vector if heard.context_vector is None else heard.context_vector) if questioned else None
            turns.record(tx, ask.session_id, stamp, ask.question, vector, outcome, response.message, awaiting)
        if idempotency:
            idempotency.remember(tx, response)
        return response

    def _question(
        self,
        tx: Tx,
        question: str,
        vector: np.ndarray,
        ask: AskRequest,
        decision: Decision,
        at: datetime,
        learnable: bool = True,
    ) -> AskResponse:
        """Answer, ask the caller to confirm, or escalate to the supervisor. `learnable`: a yes to a check may
        keep `question` as a pending phrasing."""
        response = None
        if decision.outcome == ANSWER:  # None if the entry was deleted since the search: then it escalates
            response = self._answer(tx, question, decision, iso(at))
        elif decision.outcome == CONFIRM:
            response = self.confirmations.open(tx, ask, vector, decision, at, question if learnable else None)
        if response is None:
            best = (decision.best.knowledge_id, decision.confidence) if decision.best else None
            escalation = self.desk.escalate(
                tx,
                question,
                vector,
                ask.caller,
                ask.session_id,
                decision.score if decision.best else None,
                at,
                best=best,
            )
            response = escalation.response(decision.score)
        return response

    def _both(self, tx: Tx, heard: Heard, at: datetime) -> AskResponse | None:
        """Two questions in one turn: both answers in one message, or the one known and the other escalated.
        None when neither is known (the turn is then matched as a whole)."""
        first, second = heard.parts
        known = [(p, p.decision) for p in heard.parts if p.decision is not None and p.decision.outcome == ANSWER]
        if not known:
            return None
        answers = [a for p, d in known if (a := self._answer(tx, p.question, d, iso(at))) is not None]
        if len(answers) != len(known):  # an entry deleted since the search
            return None
        if len(known) == 2:
            texts = list(dict.fromkeys(a.message for a in answers))  # one entry answering both: once
            answers[0].message = answers[0].answer = " ".join(texts)
            return answers[0]
        other = second if known[0][0] is first else first
        assert other.decision is not None
        response = self._question(tx, other.question, other.vector, heard.ask, other.decision, at)
        if response.outcome == AskOutcome.escalated:
            response.answer = answers[0].answer
            response.message = CHECKING_THE_OTHER.format(answer=answers[0].message, other=other.question)
        elif response.outcome == AskOutcome.confirm:
            response.message = f"{answers[0].message} {response.message}"
        return response

    def _answer(self, tx: Tx, question: str, decision: Decision, stamp: str) -> AskResponse | None:
        assert decision.best is not None
        knowledge_id = decision.best.knowledge_id
        row = self.kb.writes.record_hit(tx, knowledge_id, stamp)
        if row is None:
            return None
        audits.sample(tx, question, row["answer"], knowledge_id, decision.confidence, stamp, row["hit_count"])
        return AskResponse(
            outcome=AskOutcome.answered,
            answer=row["answer"],
            knowledge_id=knowledge_id,
            score=decision.score,
            reference=None,
            message=row["answer"],
        )

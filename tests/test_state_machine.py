"""Model-based test: Hypothesis drives ask, resolve, timeout, edit, delete and restart in any order and checks,
after every step, that terminal states never change, that every learned answer can be found, and that the
index holds exactly the database's phrasing ids. FRONTDESK_STRESS=1 explores more."""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from kb_service.api.app import create_app
from tests.support import AUTH, make_settings, wait_for

pytestmark = pytest.mark.slow
STRESS = bool(os.environ.get("FRONTDESK_STRESS"))
QUESTIONS = [
    "Do you offer gift cards?",
    "Can I bring my dog to my appointment?",
    "Is there parking near the salon?",
    "Do you do eyelash tinting?",
    "Can children get a haircut here?",
    "Do you sell shampoo and conditioner?",
]


class FrontDesk(RuleBasedStateMachine):
    embedder = None  # set by the test, shared by every example (the model loads once)

    def __init__(self):
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="frontdesk-sm-"))
        self.client = self._start()
        self.pending: set[int] = set()
        self.terminal: dict[int, tuple[str, str | None]] = {}  # id -> (status, answer)
        self.learned: dict[int, str] = {}  # knowledge id -> the phrasing that must find it
        self.counter = 0

    def _start(self) -> TestClient:
        app = create_app(make_settings(self.dir, KB_DEMO=False, KB_ASK_RATE_LIMIT_PER_MINUTE=0), self.embedder)
        client = TestClient(app, headers=AUTH)
        client.__enter__()
        return client

    def teardown(self):
        self.client.__exit__(None, None, None)
        shutil.rmtree(self.dir, ignore_errors=True)

    # ---- rules

    @rule(question=st.sampled_from(QUESTIONS))
    def ask(self, question):
        response = self.client.post("/api/ask", json={"question": question, "caller": {"phone": "555-010-1234"}})
        assert response.status_code == 200, response.text
        reference = response.json()["reference"]  # the caller's own, not the request's id
        if reference is not None:
            request_id = self._request_waited_on_by(reference)
            assert request_id not in self.terminal, "a caller joined a finished request"
            self.pending.add(request_id)

    def _request_waited_on_by(self, reference: int) -> int:
        pending = self.client.get("/api/help-requests", params={"status": "pending", "limit": 200}).json()["items"]
        [request_id] = [r["id"] for r in pending if reference in [c["reference"] for c in r["callers"]]]
        return request_id

    @precondition(lambda self: self.pending)
    @rule(data=st.data(), learn=st.booleans())
    def resolve(self, data, learn):
        request_id = data.draw(st.sampled_from(sorted(self.pending)))
        self.counter += 1
        answer = f"Answer number {self.counter}."
        response = self.client.post(f"/api/help-requests/{request_id}/resolve", json={"answer": answer, "learn": learn})
        assert response.status_code == 200, response.text
        body = response.json()
        self.pending.discard(request_id)
        self.terminal[request_id] = ("resolved", answer)
        if learn:
            self.learned[body["knowledge_id"]] = body["help_request"]["question"]

    @precondition(lambda self: self.pending)
    @rule(data=st.data())
    def timeout(self, data):
        request_id = data.draw(st.sampled_from(sorted(self.pending)))
        # Time passes for this request only: its deadline moves into the past, then the sweep runs.
        with sqlite3.connect(self.dir / "frontdesk.db") as db:
            db.execute(
                "UPDATE help_requests SET deadline_at = '2000-01-01T00:00:00.000000+00:00' WHERE id = ?", (request_id,)
            )
        db.close()
        # The service's own sweeper times it out (whenever it next runs), as it would any overdue request.
        wait_for(
            lambda: self.client.get(f"/api/help-requests/{request_id}").json()["status"] == "unresolved",
            what="the sweeper to time the request out",
        )
        self.pending.discard(request_id)
        self.terminal[request_id] = ("unresolved", None)

    @precondition(lambda self: self.terminal)
    @rule(data=st.data())
    def resolve_finished(self, data):
        request_id = data.draw(st.sampled_from(sorted(self.terminal)))
        response = self.client.post(f"/api/help-requests/{request_id}/resolve", json={"answer": "Too late."})
        assert response.status_code == 409

    @precondition(lambda self: self.learned)
    @rule(data=st.data())
    def edit(self, data):
        knowledge_id = data.draw(st.sampled_from(sorted(self.learned)))
        self.counter += 1
        phrasing = f"{self.learned[knowledge_id].rstrip('?')}, version {self.counter}?"
        response = self.client.patch(f"/api/knowledge/{knowledge_id}", json={"questions": [phrasing]})
        assert response.status_code == 200, response.text
        self.learned[knowledge_id] = phrasing

    @precondition(lambda self: self.learned)
    @rule(data=st.data())
    def delete(self, data):
        knowledge_id = data.draw(st.sampled_from(sorted(self.learned)))
        assert self.client.delete(f"/api/knowledge/{knowledge_id}").status_code == 204
        del self.learned[knowledge_id]
        assert self.client.get(f"/api/knowledge/{knowledge_id}").status_code == 404

    @rule()
    def restart(self):
        self.client.__exit__(None, None, None)
        self.client = self._start()

    # ---- invariants, checked after every step

    @invariant()
    def terminal_states_never_change(self):
        for request_id, (status, answer) in self.terminal.items():
            got = self.client.get(f"/api/help-requests/{request_id}").json()
            assert (got["status"], got["answer"]) == (status, answer), request_id

    @invariant()
    def learned_answers_are_findable(self):
        for knowledge_id, phrasing in self.learned.items():
            found = self.client.get("/api/knowledge", params={"q": phrasing, "limit": 10}).json()["items"]
            assert any(item["id"] == knowledge_id and item["score"] > 0.999 for item in found), knowledge_id

    @invariant()
    def index_ids_equal_database_ids(self):
        runtime = self.client.app.state.runtime
        in_db = {r["id"] for r in runtime.store.query("SELECT id FROM phrasings")}
        assert runtime.kb.index.ids() == in_db


def test_front_desk_state_machine(embedder):
    FrontDesk.embedder = embedder
    run_state_machine_as_test(
        FrontDesk,
        settings=settings(
            max_examples=25 if STRESS else 8,
            stateful_step_count=25 if STRESS else 15,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        ),
    )

"""Micro-batched asks (`AskPipeline` → `Receptionist.answer`) give every caller what a one-by-one ask would."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from kb_service.errors import Conflict
from kb_service.storage.idempotency import IdempotencyKey
from models import AskRequest

QUESTIONS = [
    "when are you open?",
    "do you do eyebrow waxing?",
    "how much is a haircut",
    "can I book for saturday",
    "where are you located",
    "do you take credit cards",
    "is there parking nearby",
    "what is your phone number",
    "do you color hair",
    "can I bring my dog",
    "how long does a perm take",
    "do you sell gift cards",
    "are you open on mondays",
    "what does a blowout cost",
    "do you cut kids hair",
    "can I cancel my appointment",
]


def test_concurrent_asks_get_the_same_answers_as_single_asks(make_client, tmp_path):
    client = make_client()
    single = [client.post("/api/ask", json={"question": q}).json() for q in QUESTIONS]
    # A second service over the same knowledge: fire every ask at once.
    other = make_client(data_dir=tmp_path / "other")
    start = threading.Barrier(len(QUESTIONS))

    def ask(question: str) -> dict:
        start.wait()
        return other.post("/api/ask", json={"question": question}).json()

    with ThreadPoolExecutor(len(QUESTIONS)) as pool:
        together = list(pool.map(ask, QUESTIONS))
    assert [r["outcome"] for r in together] == [r["outcome"] for r in single]
    assert [r["knowledge_id"] for r in together] == [r["knowledge_id"] for r in single]
    assert np.allclose([r["score"] for r in together], [r["score"] for r in single], atol=1e-4)
    assert any(r["outcome"] == "answered" for r in single) and any(r["outcome"] == "escalated" for r in single)
    pipeline = other.app.state.runtime.asks
    assert pipeline.asks == len(QUESTIONS)
    assert pipeline.batches < len(QUESTIONS)  # some asks really shared a forward pass


def test_one_failing_ask_leaves_the_rest_of_its_batch_recorded(client, embedder):
    runtime = client.app.state.runtime
    key = "retry-1"
    bodies = [
        AskRequest(question="when are you open?"),
        AskRequest(question="do you do eyebrow threading?"),
        AskRequest(question="how much is a haircut"),
    ]
    keys = [IdempotencyKey.of("ask", key, bodies[0]), IdempotencyKey.of("ask", key, bodies[1]), None]
    results = runtime.receptionist.answer(embedder.embed([b.question for b in bodies]), bodies, keys)

    assert isinstance(results[1], Conflict)  # the same key with another body, in the same batch
    assert results[0].outcome.value == "answered" and results[2].outcome.value == "answered"
    logged = [r["question"] for r in runtime.store.query("SELECT question FROM ask_log ORDER BY id")]
    assert logged == ["when are you open?", "how much is a haircut"]
    assert client.get("/api/help-requests").json()["total"] == 0  # the failed ask escalated nothing


def test_the_same_unknown_question_twice_in_one_batch_opens_one_request(client, embedder):
    runtime = client.app.state.runtime
    bodies = [
        AskRequest(question="Do you do eyebrow threading?", caller={"name": "Ann"}),
        AskRequest(question="do you do eyebrow threading", caller={"name": "Bob"}),
    ]
    first, second = runtime.receptionist.answer(embedder.embed([b.question for b in bodies]), bodies, [None, None])
    assert first.outcome.value == second.outcome.value == "escalated"
    assert first.help_request_id == second.help_request_id
    request = client.get(f"/api/help-requests/{first.help_request_id}").json()
    assert [c["name"] for c in request["callers"]] == ["Ann", "Bob"]


def test_a_resolved_request_is_no_longer_joined(client):
    first = client.post("/api/ask", json={"question": "Do you do eyebrow threading?"}).json()
    client.post(
        f"/api/help-requests/{first['help_request_id']}/resolve",
        json={"answer": "Yes, threading is $12.", "learn": False},
    ).raise_for_status()
    again = client.post("/api/ask", json={"question": "Do you do eyebrow threading?"}).json()
    assert again["outcome"] == "escalated" and again["help_request_id"] != first["help_request_id"]
    third = client.post("/api/ask", json={"question": "do you do eyebrow threading"}).json()
    assert third["help_request_id"] == again["help_request_id"]  # the new pending one is joined


def test_the_pipeline_answers_a_burst_and_stops_with_the_service(make_client):
    client = make_client()
    start = threading.Barrier(len(QUESTIONS))

    def ask(question: str) -> int:
        start.wait()
        return client.post("/api/ask", json={"question": question}).status_code

    with ThreadPoolExecutor(len(QUESTIONS)) as pool:
        codes = list(pool.map(ask, QUESTIONS))
    runtime = client.app.state.runtime
    client.__exit__(None, None, None)  # lifespan shutdown closes the pipeline
    assert codes == [200] * len(QUESTIONS)
    assert not any(t.is_alive() for t in runtime.asks._threads)  # both workers stopped
    assert runtime.asks.asks == len(QUESTIONS)


def test_an_answer_only_batch_whose_entry_vanished_escalates_durably(client, embedder):
    """Such a batch commits without an fsync; if its entry is deleted after the search, the ask escalates, and
    the batch starts over as a durable one, since a help request must survive a power cut."""
    runtime = client.app.state.runtime
    question = "when are you open?"
    vectors = embedder.embed([question])
    entry = runtime.matcher.match(vectors, [question])[0].best.knowledge_id
    with runtime.store.write() as tx:  # behind the index's back, as a delete racing with the ask would be
        tx.execute("DELETE FROM phrasings WHERE knowledge_id = ?", (entry,))
        tx.execute("DELETE FROM knowledge_entries WHERE id = ?", (entry,))
    assert runtime.matcher.match(vectors, [question])[0].answer  # the index still answers from it

    durable, bookkeeping = runtime.store.conn, runtime.store.bookkeeping_conn  # this thread's, as answer() uses
    statements: list[tuple[str, str]] = []
    durable.set_trace_callback(lambda sql: statements.append(("FULL", sql)))
    bookkeeping.set_trace_callback(lambda sql: statements.append(("NORMAL", sql)))
    [result] = runtime.receptionist.answer(vectors, [AskRequest(question=question)], [None])
    durable.set_trace_callback(None)
    bookkeeping.set_trace_callback(None)
    assert result.outcome.value == "escalated"
    # The request was inserted only in a transaction on the FULL-sync connection, after the NORMAL one, which
    # began as an answer-only batch, had rolled back.
    inserted = statements.index(next(s for s in statements if s[1].startswith("INSERT INTO help_requests")))
    assert statements[inserted][0] == "FULL" and statements[-1] == ("FULL", "COMMIT")
    assert [sql for conn, sql in statements[:inserted] if conn == "NORMAL"][-1] == "ROLLBACK"
    assert not any(conn == "NORMAL" and sql == "COMMIT" for conn, sql in statements)
    logged = runtime.store.query("SELECT outcome, help_request_id FROM ask_log")
    assert [(r["outcome"], r["help_request_id"]) for r in logged] == [("escalated", result.help_request_id)]
    assert durable.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert bookkeeping.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def test_bookkeeping_commits_go_through_a_normal_sync_connection_and_durable_ones_stay_full(client):
    store = client.app.state.runtime.store
    try:
        with store.write(durable=False) as tx:
            assert tx.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL: no fsync at this commit
            tx.execute("INSERT INTO meta (key, value) VALUES ('probe', 1)")
            raise RuntimeError("the batch failed")
    except RuntimeError:
        pass
    assert store.scalar("SELECT COUNT(*) FROM meta WHERE key = 'probe'") == 0  # rolled back
    with store.write() as tx:
        assert tx.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL, whatever the other one did
    with store.write(durable=False) as tx:
        tx.execute("INSERT INTO meta (key, value) VALUES ('probe', 1)")
    assert store.scalar("SELECT COUNT(*) FROM meta WHERE key = 'probe'") == 1  # visible to the other connection
    assert store.scalar("PRAGMA synchronous") == 2

"""Micro-batched asks (`AskPipeline` → `Receptionist.answer`) give every caller what a one-by-one ask would."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from kb_service.errors import Conflict
from kb_service.idempotency import IdempotencyKey
from models import AskRequest

QUESTIONS = [
    "when are you open?", "do you do eyebrow waxing?", "how much is a haircut", "can I book for saturday",
    "where are you located", "do you take credit cards", "is there parking nearby", "what is your phone number",
    "do you color hair", "can I bring my dog", "how long does a perm take", "do you sell gift cards",
    "are you open on mondays", "what does a blowout cost", "do you cut kids hair", "can I cancel my appointment",
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
    bodies = [AskRequest(question="when are you open?"), AskRequest(question="do you do eyebrow threading?"),
              AskRequest(question="how much is a haircut")]
    keys = [IdempotencyKey.of("ask", key, bodies[0]), IdempotencyKey.of("ask", key, bodies[1]), None]
    results = runtime.receptionist.answer(embedder.embed([b.question for b in bodies]), bodies, keys)

    assert isinstance(results[1], Conflict)  # the same key with another body, in the same batch
    assert results[0].outcome.value == "answered" and results[2].outcome.value == "answered"
    logged = [r["question"] for r in runtime.store.query("SELECT question FROM ask_log ORDER BY id")]
    assert logged == ["when are you open?", "how much is a haircut"]
    assert client.get("/api/help-requests").json()["total"] == 0  # the failed ask escalated nothing


def test_the_same_unknown_question_twice_in_one_batch_opens_one_request(client, embedder):
    runtime = client.app.state.runtime
    bodies = [AskRequest(question="Do you do eyebrow threading?", caller={"name": "Ann"}),
              AskRequest(question="do you do eyebrow threading", caller={"name": "Bob"})]
    first, second = runtime.receptionist.answer(embedder.embed([b.question for b in bodies]), bodies, [None, None])
    assert first.outcome.value == second.outcome.value == "escalated"
    assert first.help_request_id == second.help_request_id
    request = client.get(f"/api/help-requests/{first.help_request_id}").json()
    assert [c["name"] for c in request["callers"]] == ["Ann", "Bob"]


def test_a_resolved_request_is_no_longer_joined(client):
    first = client.post("/api/ask", json={"question": "Do you do eyebrow threading?"}).json()
    client.post(f"/api/help-requests/{first['help_request_id']}/resolve",
                json={"answer": "Yes, threading is $12.", "learn": False}).raise_for_status()
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

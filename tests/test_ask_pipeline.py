"""Micro-batched asks (`AskPipeline` → `Receptionist.respond`) give every caller what a one-by-one ask would."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from kb_service.desk.ask_pipeline import AskPipeline, ServiceStopping
from kb_service.errors import Conflict
from kb_service.storage.idempotency import IdempotencyKey
from models import AskRequest
from tests.support import request_for, run_async

QUESTIONS = [
    "when are you open?",
    "do you do eyelash tinting?",
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
    metrics = other.get("/metrics").text
    assert f"frontdesk_asks_batched_total {float(len(QUESTIONS))}" in metrics


class GatedEmbedder:
    """The real model, held at its first forward pass until the test lets it go; records each batch it gets."""

    def __init__(self, embedder):
        self.embedder = embedder
        self.model_name, self.dimension = embedder.model_name, embedder.dimension
        self.batches: list[list[str]] = []
        self.busy = threading.Event()
        self.go_on = threading.Event()

    def embed(self, texts, batch_size: int = 64, show_progress: bool = False):
        self.batches.append(list(texts))
        self.busy.set()
        assert self.go_on.wait(timeout=30), "the test never let the model go on"
        return self.embedder.embed(texts)


def test_asks_that_arrive_while_the_model_is_busy_share_the_next_forward_pass(client, embedder):
    runtime = client.app.state.runtime
    model = GatedEmbedder(embedder)
    pipeline = AskPipeline(runtime.receptionist, model)
    pipeline.start()
    alone = [client.post("/api/ask", json={"question": q}).json() for q in QUESTIONS]

    async def burst() -> list:
        first = asyncio.ensure_future(pipeline.submit(AskRequest(question=QUESTIONS[0])))
        # The first ask is at the model: waited for off the loop, with a deadline.
        assert await asyncio.to_thread(model.busy.wait, 10), "the first ask never reached the model"
        rest = [asyncio.ensure_future(pipeline.submit(AskRequest(question=q))) for q in QUESTIONS[1:]]
        await asyncio.sleep(0)  # each of them queues its ask before it waits
        model.go_on.set()
        return await asyncio.gather(first, *rest)

    try:
        responses = run_async(burst())
    finally:
        model.go_on.set()
        pipeline.close()
    assert model.batches == [QUESTIONS[:1], QUESTIONS[1:]]
    assert (pipeline.batches, pipeline.asks) == (2, len(QUESTIONS))
    assert [(r.outcome.value, r.knowledge_id) for r in responses] == [(r["outcome"], r["knowledge_id"]) for r in alone]


def test_wait_idle_waits_while_an_ask_is_in_hand(client, embedder):
    """Background work (calibration) waits with `wait_idle` before each step, so callers go first."""
    model = GatedEmbedder(embedder)
    pipeline = AskPipeline(client.app.state.runtime.receptionist, model)
    pipeline.start()

    async def ask_while_waiting() -> tuple:
        idle_before = pipeline.wait_idle(0)
        ask = asyncio.ensure_future(pipeline.submit(AskRequest(question=QUESTIONS[0])))
        assert await asyncio.to_thread(model.busy.wait, 10), "the ask never reached the model"
        idle_while_held = await asyncio.to_thread(pipeline.wait_idle, 0.05)
        model.go_on.set()
        idle_after = await asyncio.to_thread(pipeline.wait_idle, 30)
        return idle_before, idle_while_held, idle_after, await ask

    try:
        idle_before, idle_while_held, idle_after, response = run_async(ask_while_waiting())
    finally:
        model.go_on.set()
        pipeline.close()
    assert (idle_before, idle_while_held, idle_after) == (True, False, True)
    assert response.outcome.value == "answered"


def test_one_failing_ask_leaves_the_rest_of_its_batch_recorded(client, embedder):
    runtime = client.app.state.runtime
    key = "retry-1"
    bodies = [
        AskRequest(question="when are you open?"),
        AskRequest(question="do you do eyebrow threading?"),
        AskRequest(question="how much is a haircut"),
    ]
    keys = [IdempotencyKey.of("ask", key, bodies[0]), IdempotencyKey.of("ask", key, bodies[1]), None]
    results = runtime.receptionist.respond(embedder.embed([b.question for b in bodies]), bodies, keys)

    assert isinstance(results[1], Conflict)  # the same key with another body, in the same batch
    assert results[0].outcome.value == "answered" and results[2].outcome.value == "answered"
    with sqlite3.connect(runtime.settings.db_path) as db:  # committed: another connection sees it
        logged = [r[0] for r in db.execute("SELECT question FROM ask_log ORDER BY id")]
        keys = db.execute("SELECT key FROM idempotency_keys").fetchall()
    assert logged == ["when are you open?", "how much is a haircut"]
    assert keys == [(key,)]  # the first ask's, kept; the failed one left nothing
    assert client.get("/api/help-requests").json()["total"] == 0  # the failed ask escalated nothing


def test_a_failing_escalation_rolls_back_only_its_own_request(client, embedder):
    """Two unknown questions in one batch, the second with a reused key: the first's request stays pending,
    the second opens nothing, and a later ask of the second question opens its own request."""
    runtime = client.app.state.runtime
    bodies = [AskRequest(question="Do you do eyebrow threading?"), AskRequest(question="Can I bring my dog?")]
    key = "same-key"
    keys = [IdempotencyKey.of("ask", key, bodies[0]), IdempotencyKey.of("ask", key, bodies[1])]
    first, second = runtime.receptionist.respond(embedder.embed([b.question for b in bodies]), bodies, keys)
    assert first.outcome.value == "escalated" and isinstance(second, Conflict)
    pending = client.get("/api/help-requests", params={"status": "pending"}).json()["items"]
    assert [(r["id"], r["question"]) for r in pending] == [
        (request_for(client, first.reference), "Do you do eyebrow threading?")
    ]
    again = client.post("/api/ask", json={"question": "Can I bring my dog?"}).json()
    assert again["outcome"] == "escalated" and again["reference"] != first.reference


def test_the_same_unknown_question_twice_in_one_batch_opens_one_request(client, embedder):
    runtime = client.app.state.runtime
    bodies = [
        AskRequest(question="Do you do eyebrow threading?", caller={"name": "Ann"}),
        AskRequest(question="do you do eyebrow threading", caller={"name": "Bob"}),
    ]
    first, second = runtime.receptionist.respond(embedder.embed([b.question for b in bodies]), bodies, [None, None])
    assert first.outcome.value == second.outcome.value == "escalated"
    assert first.reference != second.reference  # each caller's own reference
    [request] = client.get("/api/help-requests", params={"status": "pending"}).json()["items"]
    assert [c["name"] for c in request["callers"]] == ["Ann", "Bob"]


def test_a_resolved_request_is_no_longer_joined(client):
    first = client.post("/api/ask", json={"question": "Do you do eyebrow threading?"}).json()
    client.post(
        f"/api/help-requests/{request_for(client, first['reference'])}/resolve",
        json={"answer": "Yes, threading is $12.", "learn": False},
    ).raise_for_status()
    again = client.post("/api/ask", json={"question": "Do you do eyebrow threading?"}).json()
    assert again["outcome"] == "escalated" and again["reference"] != first["reference"]
    client.post("/api/ask", json={"question": "do you do eyebrow threading"}).raise_for_status()
    [pending] = client.get("/api/help-requests", params={"status": "pending"}).json()["items"]
    assert len(pending["callers"]) == 2  # the new pending one is joined


def ask_workers() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("ask-worker")}


def test_the_pipeline_answers_a_burst_and_stops_with_the_service(make_client):
    before = ask_workers()
    client = make_client()
    workers = ask_workers() - before
    assert workers  # this service's
    start = threading.Barrier(len(QUESTIONS))

    def ask(question: str) -> int:
        start.wait()
        return client.post("/api/ask", json={"question": question}).status_code

    with ThreadPoolExecutor(len(QUESTIONS)) as pool:
        codes = list(pool.map(ask, QUESTIONS))
    runtime = client.app.state.runtime
    client.__exit__(None, None, None)  # lifespan shutdown closes the pipeline
    assert codes == [200] * len(QUESTIONS)
    assert runtime.asks.asks == len(QUESTIONS)
    assert not any(t.is_alive() for t in workers)  # its workers stopped
    with pytest.raises(ServiceStopping):  # and a late ask is told so (a 503), never left waiting
        run_async(runtime.asks.submit(AskRequest(question=QUESTIONS[0])))


def test_an_ask_whose_entry_was_deleted_after_the_search_escalates(client, embedder):
    """The search found an entry that is gone by the time the batch commits: that ask escalates, and the
    others in its batch are answered as usual."""
    runtime = client.app.state.runtime
    gone, kept = "when are you open?", "how much is a haircut"
    vectors = embedder.embed([gone, kept])
    entry = runtime.matcher.match(vectors[:1], [gone])[0].best.knowledge_id
    with runtime.store.write() as tx:  # behind the index's back, as a delete racing with the ask would be
        tx.execute("DELETE FROM phrasings WHERE knowledge_id = ?", (entry,))
        tx.execute("DELETE FROM knowledge_entries WHERE id = ?", (entry,))
    assert runtime.matcher.match(vectors[:1], [gone])[0].answer  # the index still answers from it

    escalated, answered = runtime.receptionist.respond(
        vectors, [AskRequest(question=gone), AskRequest(question=kept)], [None, None]
    )
    assert escalated.outcome.value == "escalated" and escalated.knowledge_id is None and escalated.answer is None
    assert answered.outcome.value == "answered" and answered.knowledge_id != entry
    with sqlite3.connect(runtime.settings.db_path) as db:
        logged = db.execute("SELECT question, outcome, help_request_id FROM ask_log ORDER BY id").fetchall()
        request = db.execute("SELECT question, status FROM help_requests").fetchall()
    assert logged == [(gone, "escalated", escalated.reference), (kept, "answered", None)]
    assert request == [(gone, "pending")]

"""Micro-batching gives every caller the same vectors and the same answers as one-by-one asks."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from kb_service.batching import BatchingEmbedder

QUESTIONS = [
    "when are you open?", "do you do eyebrow waxing?", "how much is a haircut", "can I book for saturday",
    "where are you located", "do you take credit cards", "is there parking nearby", "what is your phone number",
    "do you color hair", "can I bring my dog", "how long does a perm take", "do you sell gift cards",
    "are you open on mondays", "what does a blowout cost", "do you cut kids hair", "can I cancel my appointment",
]


def test_concurrent_calls_share_batches_and_get_their_own_rows(embedder):
    batcher = BatchingEmbedder(embedder)
    try:
        start = threading.Barrier(len(QUESTIONS))

        def one(question: str) -> np.ndarray:
            start.wait()
            return batcher.embed([question])[0]

        with ThreadPoolExecutor(len(QUESTIONS)) as pool:
            batched = list(pool.map(one, QUESTIONS))
        alone = [embedder.embed([q])[0] for q in QUESTIONS]
        cosines = [float(a @ b) for a, b in zip(batched, alone)]
        assert min(cosines) > 0.9999  # padding in a batch moves only the last float bits
        assert batcher.batches < len(QUESTIONS)  # some calls really shared a forward pass
    finally:
        batcher.close()


def test_large_and_empty_calls_bypass_the_queue(embedder):
    batcher = BatchingEmbedder(embedder, max_batch=4)
    try:
        vectors = batcher.embed(QUESTIONS)
        assert vectors.shape == (len(QUESTIONS), embedder.dimension) and batcher.batches == 0
        assert batcher.embed([]).shape == (0, embedder.dimension)
    finally:
        batcher.close()


def test_an_embedding_error_reaches_the_caller(embedder):
    batcher = BatchingEmbedder(embedder)
    try:
        with pytest.raises((TypeError, ValueError, AttributeError)):
            batcher.embed([None])  # type: ignore[list-item]  # the tokenizer refuses it
        assert batcher.embed(["still working?"]).shape == (1, embedder.dimension)
    finally:
        batcher.close()


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
    assert any(r["outcome"] == "answered" for r in single)
    assert other.app.state.runtime.embedder.batches < len(QUESTIONS)

"""Questions are embedded in one written form (`embedding.question_form`): a caller who types a knowledge-base
question without its "?" or its apostrophe asks that question, and vectors stored in another form are embedded
again at start."""

from __future__ import annotations

import sqlite3

import numpy as np

from kb_service.embedding import question_form, to_blob

ADDRESS = "42 Maple Street"


def test_a_phrasing_typed_without_its_question_mark_or_apostrophe_is_that_phrasing(client):
    for typed in ("whats your address", "What's your address", "what's your address?!"):
        reply = client.post("/api/ask", json={"question": typed}).json()
        assert reply["outcome"] == "answered" and ADDRESS in reply["answer"], (typed, reply)


def test_the_form_ends_a_sentence_with_one_question_mark_and_leaves_a_word_alone():
    assert question_form("  whats your address... ") == "what's your address?"
    assert question_form("Do you take walk-ins?!") == "Do you take walk-ins?"
    assert question_form("I dont know") == "I don't know?"
    assert question_form("its hours were well cut") == "its hours were well cut?"  # words, not contractions
    assert question_form("parking?") == "parking" and question_form("") == ""


def test_vectors_stored_in_another_form_are_embedded_again_at_start(make_client, data_dir):
    client = make_client()
    client.__exit__(None, None, None)
    # As an older version, or another model, would have left them: every vector elsewhere, another model's name.
    stale = to_blob(np.eye(1, 384, dtype=np.float32)[0])
    with sqlite3.connect(data_dir / "frontdesk.db") as db:
        db.execute("UPDATE phrasings SET embedding = ?, model = 'all-MiniLM-L6-v2'", (stale,))

    restarted = make_client()
    reply = restarted.post("/api/ask", json={"question": "What's your address?"}).json()
    assert reply["outcome"] == "answered" and ADDRESS in reply["answer"], reply

"""Knowledge import over HTTP (`POST /api/knowledge/import/preview`, `POST /api/knowledge/import`): the same checks
as `frontdesk import`, a preview that names every wrong line and warns about near-duplicates, and an import that
writes everything or nothing."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from tests.support import BOTH_BACKENDS

WALK_INS = "Yes, we take walk-ins whenever a stylist is free, but booking ahead is the only way to be sure of a slot."
PAIRS = "\n".join(
    [
        "Do you do eyelash tinting?\tYes, eyelash tinting is $15.",
        "Can I get my lashes tinted? | Yes, eyelash tinting is $15.",
        "Do you take walk-ins?\t" + WALK_INS,  # already there
        "Can I come in without booking? | " + WALK_INS,  # a new phrasing of an entry already there
        "What time do you open in the morning? | We open at 8am on Saturdays.",  # another answer, same question
    ]
)


def entries(client) -> int:
    return client.get("/api/knowledge", params={"limit": 1}).json()["total"]


@BOTH_BACKENDS
def test_pasted_pairs_preview_line_by_line_then_import_once(client):
    before = entries(client)
    preview = client.post("/api/knowledge/import/preview", json={"format": "pairs", "text": PAIRS})
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["problems"] == []
    assert [(line["line"], line["action"]) for line in body["lines"]] == [
        (1, "new"),
        (2, "new"),
        (3, "skip"),
        (4, "add"),
        (5, "new"),
    ]
    assert (body["entries_new"], body["phrasings_added"], body["duplicates_skipped"]) == (2, 1, 0)
    walk_ins = body["lines"][2]["knowledge_id"]
    assert body["lines"][3]["knowledge_id"] == walk_ins and body["lines"][3]["warnings"] == []
    [warning] = body["lines"][4]["warnings"]
    hours = client.get("/api/knowledge", params={"q": "What time do you open?", "limit": 1}).json()["items"][0]["id"]
    assert f"to entry #{hours}, which has another answer" in warning
    assert "What time do you open in the morning?" in warning
    assert entries(client) == before  # a preview writes nothing

    imported = client.post("/api/knowledge/import", json={"format": "pairs", "text": PAIRS})
    assert imported.status_code == 200, imported.text
    result = imported.json()
    assert result["message"] == "imported 2 entries, added 1 phrasing to existing entries"
    assert len(result["knowledge_ids"]) == 2 and entries(client) == before + 2
    tinting = client.get(f"/api/knowledge/{result['knowledge_ids'][0]}").json()
    assert tinting["answer"] == "Yes, eyelash tinting is $15."
    assert [p["question"] for p in tinting["phrasings"]] == [
        "Do you do eyelash tinting?",
        "Can I get my lashes tinted?",
    ]
    assert client.post("/api/ask", json={"question": "Can I come in without booking?"}).json()["answer"] == WALK_INS

    again = client.post("/api/knowledge/import", json={"format": "pairs", "text": PAIRS}).json()
    assert again["message"] == "imported 0 entries, skipped 3 duplicates" and entries(client) == before + 2


@BOTH_BACKENDS
def test_a_wrong_line_is_named_and_nothing_is_written(client):
    before = entries(client)
    csv_text = "answer,question\nOpen 9-5.,When do you open?\nOpen 9-5.,Hours?\nWe close at 7.,   \n,Who?\n"
    preview = client.post("/api/knowledge/import/preview", json={"format": "csv", "text": csv_text}).json()
    assert preview["problems"] == [
        {"line": 4, "message": "the question is empty"},
        {"line": 5, "message": "the answer is empty"},
    ]
    assert [line["line"] for line in preview["lines"]] == [2, 3]
    refused = client.post("/api/knowledge/import", json={"format": "csv", "text": csv_text})
    assert refused.status_code == 422
    assert refused.json()["message"] == "text: line 4: the question is empty; text: line 5: the answer is empty"
    assert [error["msg"] for error in refused.json()["detail"]] == [
        "line 4: the question is empty",
        "line 5: the answer is empty",
    ]
    assert entries(client) == before

    jsonl = "\n".join(
        [
            json.dumps({"answer": "Open 9-5.", "questions": ["When do you open?"]}),
            "{oops",
            json.dumps({"answer": "x", "questions": []}),
            json.dumps({"answer": "x", "questions": ["q"], "extra": 1}),
            json.dumps({"answer": "x", "questions": ["q", " "]}),
        ]
    )
    problems = client.post("/api/knowledge/import/preview", json={"format": "jsonl", "text": jsonl}).json()["problems"]
    assert [(p["line"], p["message"].split(" (")[0]) for p in problems] == [
        (2, "not JSON"),
        (3, "no questions"),
        (4, "unknown field 'extra'"),
        (5, "question 2 is empty"),
    ]
    no_columns = client.post("/api/knowledge/import/preview", json={"format": "csv", "text": "q,a\nx,y\n"}).json()
    assert no_columns["problems"] == [{"line": None, "message": "a CSV needs the columns 'answer' and 'question'"}]
    pairs = client.post("/api/knowledge/import/preview", json={"format": "pairs", "text": "just a question?"}).json()
    assert pairs["problems"] == [
        {"line": 1, "message": "no answer: put a tab or ' | ' between the question and its answer"}
    ]
    empty = client.post("/api/knowledge/import", json={"format": "pairs", "text": "\n  \n"})
    assert (empty.status_code, empty.json()["message"]) == (422, "text: there is nothing to import")
    assert entries(client) == before


@BOTH_BACKENDS
def test_bad_requests_get_a_clear_4xx(client):
    anonymous = TestClient(client.app)
    for path in ("/api/knowledge/import/preview", "/api/knowledge/import"):
        assert anonymous.post(path, json={"format": "pairs", "text": "a | b"}).status_code == 401
        for bad in ({"format": "xml", "text": "a"}, {"format": "csv"}, {"text": "a | b"}, {"format": "csv", "text": 5}):
            response = client.post(path, json=bad)
            assert response.status_code == 422 and response.json()["message"], (path, bad, response.text)
        extra = client.post(path, json={"format": "pairs", "text": "a | b", "dry_run": True})
        assert extra.status_code == 422
        assert client.post(path, content=b"not json", headers={"content-type": "application/json"}).status_code == 422
    too_big = client.post("/api/knowledge/import", json={"format": "pairs", "text": "q | a\n" * 20_000})
    assert too_big.status_code == 413 and "KB_MAX_BODY_BYTES" in too_big.json()["detail"]

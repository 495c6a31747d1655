"""A fresh demo answers what the salon wrote down, however a newcomer words it, and nothing it does not know.

`tests/data/demo_paraphrases.jsonl`: 33 paraphrases of the demo's 10 entries (none of them one of its phrasings)
and 20 salon questions it has no answer for, asked over HTTP as a newcomer would on a fresh service; a check
("Just to check — are you asking …?") is answered yes only when it names the right entry, as an honest caller."""

from __future__ import annotations

import json
from pathlib import Path

ROWS = [
    json.loads(line) for line in (Path(__file__).parent / "data" / "demo_paraphrases.jsonl").read_text().splitlines()
]
DEMO = [
    json.loads(line) for line in (Path(__file__).parents[1] / "kb_service/demo/salon.jsonl").read_text().splitlines()
]


def _ask(client, question: str, expected: str | None) -> str:
    """'right', 'wrong' or 'escalated', after at most one check."""
    reply = client.post("/api/ask", json={"question": question}).json()
    if reply["outcome"] == "confirm":
        entry = client.get(f"/api/knowledge/{reply['knowledge_id']}").json()
        honest = expected is not None and expected in entry["answer"]
        reply = client.post(f"/api/confirmations/{reply['confirmation_id']}", json={"confirmed": honest}).json()
    if reply["outcome"] != "answered":
        return "escalated"
    return "right" if expected is not None and expected in reply["answer"] else "wrong"


def test_a_fresh_demo_answers_paraphrases_of_its_entries_and_nothing_it_does_not_know(make_client):
    client = make_client()
    assert client.get("/api/stats").json()["calibration"]  # calibrated before the first caller, not beside them
    phrasings = {q.casefold() for entry in DEMO for q in entry["questions"]}
    assert not any(row["question"].casefold() in phrasings for row in ROWS)  # paraphrases, not the demo's words
    known = [_ask(client, row["question"], row["expected"]) for row in ROWS if row["expected"]]
    unknown = [_ask(client, row["question"], None) for row in ROWS if not row["expected"]]
    assert len(known) >= 30 and len(unknown) >= 20
    assert known.count("wrong") == 0 and unknown.count("wrong") == 0
    assert known.count("right") >= 0.8 * len(known), known
    quality = client.get("/api/quality").json()
    assert quality["confirm_threshold"] < 0.85  # the band came from the demo's own phrasings, not a fixed start

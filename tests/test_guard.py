"""The contradiction guard: the salon contrast set is never auto-answered, through POST /api/ask on a real app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kb_service.matching.guard import contradiction

CONTRAST = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "contrast_salon.jsonl").read_text().splitlines()
    if line.strip()
]


def test_the_contrast_set_is_never_auto_answered(client):
    for pair in CONTRAST:
        # The KB's own wording is answered, so an escalation below is the guard or the matcher telling them apart.
        kept = client.post("/api/ask", json={"question": pair["phrasing"]}).json()
        assert kept["outcome"] == "answered", pair
        changed = client.post("/api/ask", json={"question": pair["question"]}).json()
        assert changed["outcome"] == "escalated", pair


@pytest.mark.parametrize(
    ("question", "phrasing", "why"),
    [
        ("Are you open on Sundays?", "Are you open on Saturdays?", "different day or time of day"),
        ("Are you closed on Sunday?", "Are you open on Sunday?", "opposite verb"),
        ("Don't you take walk-ins?", "Do you take walk-ins?", "negation"),
        (
            "How much is a haircut for 3 people?",
            "How much is a haircut for 2 people?",
            "different number, time or price",
        ),
        ("How much is a perm?", "How much is a haircut?", "different named thing"),
    ],
)
def test_guard_names_what_changed(question, phrasing, why):
    assert contradiction(question, phrasing) == why


@pytest.mark.parametrize(
    ("question", "phrasing", "entry_text"),
    [
        ("When are you open?", "What are your opening hours?", ""),
        ("how much is a women's haircut", "What does a women's haircut cost?", ""),
        ("How much are highlights?", "How much is balayage?", "Full colour starts at $90, highlights at $120"),
        ("Are you open on Saturday?", "Are you open on Saturdays?", ""),
    ],
)
def test_guard_lets_paraphrases_through(question, phrasing, entry_text):
    assert contradiction(question, phrasing, entry_text) is None


@pytest.mark.parametrize("junk", ["(.*[", "\\d+)??", "$$$ ((( ***", "[a-z]*", "^$|", "(?i)"])
def test_caller_text_is_data_not_a_pattern(junk):
    """Regex syntax in what a caller says is never compiled: it neither raises nor changes the decision."""
    phrasing = "Are you open on Saturdays?"
    assert contradiction(f"Are you open on Saturdays? {junk}", phrasing) is None
    assert contradiction(f"Are you open on Sundays? {junk}", phrasing) == "different day or time of day"
    assert contradiction(f"{junk} Are you closed on Saturdays {junk}", phrasing) == "opposite verb"


@pytest.mark.parametrize("text", ["", "a" * 5000, "é ü 東京", "(.*["])
def test_text_unlike_the_phrasing_is_left_to_the_matcher(text):
    assert contradiction(text, "Are you open on Saturdays?") is None

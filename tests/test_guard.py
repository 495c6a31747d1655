"""The contradiction guard: the salon contrast set is never auto-answered, through POST /api/ask on a real app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kb_service.matching.guard import contradiction, entry_contradiction, other_alternative

CONTRAST = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "contrast_salon.jsonl").read_text().splitlines()
    if line.strip()
]


def test_the_contrast_set_is_never_auto_answered(make_client):
    client = make_client(KB_ASK_RATE_LIMIT_PER_MINUTE=0)  # twice as many asks as pairs
    for pair in CONTRAST:
        # The KB's own wording is answered (or, for what only staff can do, such as cancelling, handed to a person by
        # the conversation step), so an escalation below is the guard or the matcher telling them apart.
        kept = client.post("/api/ask", json={"question": pair["phrasing"]}).json()
        assert kept["outcome"] in ("answered", "handoff"), pair
        changed = client.post("/api/ask", json={"question": pair["question"]}).json()
        assert changed["outcome"] in ("escalated", "handoff"), pair  # a person decides, never the answer


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
        ("What time do you close on Friday?", "What time do you close today?", "open Tuesday to Friday"),
        ("Are you open at the weekend?", "Are you open on Saturdays?", "Saturday from 9am to 5pm"),
        ("What's the price of a ladies cut?", "What's the price of a men's cut?", "A women's haircut is $55"),
        ("Is there somewhere to park?", "Is there parking nearby?", ""),  # "somewhere" names nothing
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


@pytest.mark.parametrize(
    ("question", "entry_text"),
    [
        ("How much is a men's haircut?", "How much is a women's haircut? A women's haircut is $55"),
        ("What does a kids' haircut cost?", "How much is a haircut? A women's haircut is $55, a men's $35"),
        ("Can I pay cash?", "Can I pay by card? We accept all major credit and debit cards"),
        ("Is there a child ticket?", "How much is a ticket? Adult tickets are $20"),
    ],
)
def test_a_named_alternative_is_not_a_paraphrase(question, entry_text):
    assert other_alternative(question, entry_text) == "a different named alternative"


@pytest.mark.parametrize(
    ("question", "entry_text"),
    [
        ("How much is a men's haircut?", "How much is a haircut? A haircut is $40"),  # names no alternative
        ("price of a ladies cut", "What does a women's haircut cost? A women's haircut is $55"),  # a synonym
        ("Can I pay with my visa?", "Can I pay by card? We accept cash and cards"),
    ],
)
def test_an_entry_that_covers_the_alternative_still_answers(question, entry_text):
    assert other_alternative(question, entry_text) is None


def test_a_word_for_the_same_side_finds_the_phrasing_that_says_it():
    """ "shut" is compared with the entry's "close" phrasing, not taken for the opposite of its "open" one; a
    question near-identical to the "open" phrasing with the opposite verb still escalates."""
    hours = ["What time do you open?", "What time do you close today?", "Are you open on Saturdays?"]
    answer = "We're open Tuesday to Friday from 9am to 7pm. We're closed on Sundays and Mondays."
    assert entry_contradiction("what time do you shut on fridays", hours, answer) is None
    assert entry_contradiction("Are you closed on Saturdays?", hours, answer) == "opposite verb"
    assert entry_contradiction("what time do you shut on fridays", hours[:1], answer) == "opposite verb"

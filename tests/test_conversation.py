"""The conversation step over HTTP: the scripted calls of tests/data/conversation_calls.jsonl, and what each kind
of turn leaves behind (no help request for small talk, a call-back for a hand-off, counts apart from questions)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from kb_service.conversation import handoffs
from kb_service.conversation.intents import IntentReader
from kb_service.storage.migrations import MIGRATIONS
from kb_service.storage.sqlite import SqliteStore
from tests.conversation_support import replay, scripted_calls
from tests.speech_support import speak
from tests.support import BOTH_BACKENDS, CLINC150, open_session


def test_the_scripted_calls_are_handled_right_and_small_talk_never_reaches_the_supervisor(make_client):
    client = make_client()
    calls = scripted_calls()
    assert len(calls) >= 40 and sum(len(c["turns"]) for c in calls) >= 150

    tally = replay(client, calls)

    print("\n".join(tally.lines() + tally.wrong))
    assert tally.help_requests_from_conversation == []
    assert tally.share_right >= 0.9, tally.wrong


class Call:
    def __init__(self, client, phone: str | None = None):
        self.client = client
        self.session_id, self.headers = open_session(client)
        self.caller = {"phone": phone} if phone else {}

    def say(self, text: str) -> dict:
        body = {"question": text, "session_id": self.session_id, "caller": self.caller}
        response = self.client.post("/api/ask", json=body, headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()


def help_requests(client) -> list[dict]:
    return client.get("/api/help-requests").json()["items"]


def test_small_talk_is_replied_to_and_only_a_goodbye_ends_the_call(client):
    call = Call(client)
    hello = call.say("Hello there!")
    assert hello["outcome"] == "replied" and "Bella Hair Studio" in hello["message"] and not hello["end_call"]
    assert call.say("hey")["message"] == "Hi! How can I help?"  # the warmer greeting was the first turn's
    assert call.say("umm")["outcome"] == "replied"
    robot = call.say("wait, am I speaking to a bot?")
    assert robot["outcome"] == "replied" and "automated assistant" in robot["message"]
    assert call.say("cheers, that's helpful")["outcome"] == "replied"
    bye = call.say("alright, bye for now")
    assert bye["outcome"] == "replied" and bye["end_call"] is True and bye["reference"] is None
    assert help_requests(client) == []


def test_say_that_again_repeats_the_last_thing_said_in_this_call_only(client):
    call = Call(client)
    answer = call.say("What time do you open?")
    assert answer["outcome"] == "answered"
    assert call.say("sorry, I missed that, what did you say?")["message"] == answer["message"]
    anonymous = client.post("/api/ask", json={"question": "could you repeat that?"}).json()
    assert anonymous["outcome"] == "replied" and anonymous["message"] != answer["message"]  # no session: no memory
    assert Call(client).say("could you repeat that?")["message"] != answer["message"]  # another call's turns


def test_a_greeting_in_front_of_a_question_gets_the_answer(client):
    reply = Call(client).say("Hi! What time do you open?")
    assert reply["outcome"] == "answered" and "9am" in reply["message"]


@BOTH_BACKENDS
def test_asking_for_a_person_is_a_call_back_with_the_spoken_number_not_a_help_request(make_client):
    client = make_client()
    call = Call(client)
    handoff = call.say("I'd like to book a blow-dry for Friday at 2pm")
    assert handoff["outcome"] == "handoff" and "number" in handoff["message"] and handoff["reference"] is None
    assert client.get("/api/callbacks").json()["items"] == []  # nobody to call until there is a number
    taken = call.say("sure, it's four one five, five five five, oh one two three")
    assert taken["outcome"] == "replied" and "4155550123" in taken["message"]
    [callback] = client.get("/api/callbacks").json()["items"]
    assert callback["reason"] == "handoff" and callback["help_request_id"] is None and callback["status"] is None
    assert callback["question"] == "I'd like to book a blow-dry for Friday at 2pm"
    assert callback["phone"] == "4155550123"
    assert client.post(f"/api/callbacks/{callback['id']}/done", json={"note": "Booked"}).status_code == 200
    assert client.get("/api/callbacks").json()["items"] == []
    assert help_requests(client) == []


def test_a_caller_who_left_a_number_is_told_it_and_listed_at_once(client):
    reply = Call(client, phone="(415) 555-0199").say("put me through to the manager please")
    assert reply["outcome"] == "handoff" and "(415) 555-0199" in reply["message"]
    [callback] = client.get("/api/callbacks").json()["items"]
    assert callback["phone"] == "(415) 555-0199" and callback["question"] == "put me through to the manager please"


def test_informational_booking_questions_reach_the_knowledge_base(client):
    for question in ("How do I book an appointment?", "What is your cancellation policy?"):
        assert Call(client).say(question)["outcome"] in ("answered", "confirm", "escalated")


def test_a_follow_up_is_read_in_the_light_of_the_previous_question(client):
    call = Call(client)
    hours = call.say("When are you open?")
    follow_up = call.say("what about Saturday?")
    assert follow_up["outcome"] in ("answered", "confirm") and follow_up["knowledge_id"] == hours["knowledge_id"]
    alone = client.post("/api/ask", json={"question": "what about Saturday?"}).json()
    assert alone["outcome"] == "escalated"  # no session, no context


def test_two_questions_in_one_turn_are_answered_together(client):
    both = Call(client).say("How much is a haircut? Do you sell gift cards?")
    assert both["outcome"] == "answered" and "$55" in both["message"] and "gift cards" in both["message"]
    assert help_requests(client) == []


def test_of_two_questions_only_the_unknown_one_goes_to_the_supervisor(client):
    reply = Call(client).say("How much is a haircut and do you offer eyelash tinting?")
    assert reply["outcome"] == "escalated" and "$55" in reply["message"] and "eyelash" in reply["message"]
    [request] = help_requests(client)
    assert request["question"] == "do you offer eyelash tinting?"


def test_a_no_to_just_to_check_says_it_misunderstood(client):
    asked = Call(client).say("do I need an appointment or can I just come in?")
    assert asked["outcome"] == "confirm", asked  # nearly sure: the agent checks first
    declined = client.post(f"/api/confirmations/{asked['confirmation_id']}", json={"confirmed": False}).json()
    assert declined["outcome"] == "escalated" and declined["message"].startswith("Sorry, I misunderstood")


def test_questions_alone_make_the_auto_answer_rate(make_client, data_dir):
    client = make_client()
    call = Call(client, phone="555 0100")
    for said in ("hello", "What time do you open?", "thanks", "can I talk to someone please?", "bye"):
        call.say(said)
    stats = client.get("/api/stats").json()
    assert (stats["asks_total"], stats["asks_answered"], stats["auto_answer_rate"]) == (1, 1, 1.0)
    assert (stats["conversational_turns"], stats["handoffs"]) == (3, 1)
    dashboard = client.get("/api/dashboard").json()
    assert (dashboard["asks_last_24h"], dashboard["auto_answer_rate_24h"]) == (1, 1.0)
    assert (dashboard["conversational_last_24h"], dashboard["handoffs_last_24h"]) == (3, 1)
    totals = client.get("/api/insights").json()["totals"]
    assert (totals["questions"], totals["conversational_turns"], totals["handoffs"]) == (1, 3, 1)
    cli = [sys.executable, "-m", "kb_service", "stats"]
    output = subprocess.run(
        cli, env={**os.environ, "KB_DATA_DIR": str(data_dir)}, capture_output=True, text=True, check=True
    ).stdout
    assert "questions: 1 (1 auto-answered, rate 100.0%)" in output
    assert "conversational turns: 3" in output and "hand-offs to staff: 1" in output


def test_the_greeting_says_it_is_an_automated_assistant_whatever_the_business(make_client):
    greeting = make_client(KB_BUSINESS_NAME="Dr. Lee's Dental").get("/api/call-config").json()["greeting"]
    assert "Dr. Lee's Dental" in greeting and "automated assistant" in greeting


@pytest.fixture(scope="module")
def reader(embedder) -> IntentReader:
    return IntentReader(embedder)


def test_real_questions_of_other_domains_are_not_taken_for_small_talk(reader, embedder):
    """The bundled CLINC150 slice: 20 intents' test questions and 1,000 out-of-scope ones (none conversational).
    Only two out-of-scope ones ask to book something, which a business's staff would do."""
    data = json.loads(CLINC150.read_text())
    questions = [q for q, _ in data["test"]] + [q for q, _ in data["oos_test"]]
    vectors = embedder.embed(questions)
    taken = [q for q, v in zip(questions, vectors, strict=True) if reader.read(q, v).intent is not None]
    assert len(taken) <= 2, taken


@pytest.mark.slow
def test_spoken_turns_are_heard_and_handled_like_typed_ones(make_client, tmp_path):
    """A few of the dev set's kinds of turn spoken by espeak-ng, heard by POST /api/transcribe, then asked."""
    client = make_client(KB_SPEECH="server")
    call = Call(client)
    expected = [
        ("Hello there.", "replied", False),
        ("Can I speak to a real person, please?", "handoff", False),
        ("Five five five, zero one four two, eight eight.", "replied", False),
        ("Thank you, goodbye.", "replied", True),
    ]
    for n, (words, outcome, end_call) in enumerate(expected):
        audio = speak(words, tmp_path / f"turn-{n}.wav").read_bytes()
        heard = client.post(
            f"/api/transcribe?session_id={call.session_id}",
            content=audio,
            headers={**call.headers, "content-type": "audio/wav"},
        ).json()["text"]
        reply = call.say(heard)
        assert (reply["outcome"], reply["end_call"]) == (outcome, end_call), (heard, reply)
    [callback] = client.get("/api/callbacks").json()["items"]
    assert callback["reason"] == "handoff" and callback["phone"] == "555014288"
    assert help_requests(client) == []


def test_a_database_from_before_hand_offs_keeps_its_callers_and_their_references(tmp_path):
    """Migration 8 rebuilds SQLite's callers table (a hand-off has no help request): ids and data stay."""
    path = tmp_path / "before.db"
    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
        for version, statements in MIGRATIONS:
            if version >= 8:
                break
            for statement in statements:
                assert isinstance(statement, str)
                old.execute(statement)
            old.execute("INSERT INTO schema_migrations VALUES (?, '2026-12-01')", (version,))
        old.execute(
            "INSERT INTO help_requests (id, question, embedding, status, created_at, deadline_at)"
            " VALUES (3, 'Do you do nails?', x'00', 'unresolved', '2026-12-01', '2026-12-01')"
        )
        old.execute(
            "INSERT INTO help_request_callers (id, help_request_id, phone, joined_at, question, callback_requested_at)"
            " VALUES (41, 3, '555 0101', '2026-12-01', 'Do you do nails?', '2026-12-01')"
        )
    store = SqliteStore(path)
    [kept] = store.query("SELECT id, help_request_id, phone, question FROM help_request_callers")
    assert tuple(kept) == (41, 3, "555 0101", "Do you do nails?")
    with store.write() as tx:
        new_id = handoffs.open_callback(tx, "Can I talk to the owner?", None, "555 0202", None, "2026-12-02")
    assert new_id == 42  # references keep growing: an old caller's is never handed out again
    store.close()

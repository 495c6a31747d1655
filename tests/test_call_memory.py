"""What a call already holds, over HTTP: the check the agent just asked ("Just to check — are you asking …?"),
answered by the caller's next turn as the confirmation route would answer it, and the number the caller gave for
a hand-off, not asked for again. Only the call's own: never another session's."""

from __future__ import annotations

from kb_service.conversation.replies import HANDOFF_ASK_NUMBER, HANDOFF_CALL_BACK, NUMBER_TAKEN, YES_REPLY
from kb_service.desk.confirmations import MISUNDERSTOOD_MESSAGE
from tests.support import BOTH_BACKENDS, open_session, verified_session, wait_for

CHECKED = "do I need an appointment or can I just come in?"  # lands in the demo's check band (asserted below)
PERSON = "can I talk to a real person?"


class Call:
    def __init__(self, client, session: tuple[str, dict[str, str]] | None = None):
        self.client = client
        self.session_id, self.headers = session or open_session(client)

    def say(self, text: str) -> dict:
        body = {"question": text, "session_id": self.session_id}
        response = self.client.post("/api/ask", json=body, headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()

    def check(self) -> dict:
        # The check band is the one calibrated at start (before it, a fresh database has only the defaults).
        wait_for(lambda: self.client.get("/api/stats").json()["calibration"], timeout=60, what="the calibration")
        asked = self.say(CHECKED)
        assert asked["outcome"] == "confirm", asked
        return asked

    def answer_check(self, asked: dict, confirmed: bool):
        return self.client.post(
            f"/api/confirmations/{asked['confirmation_id']}", json={"confirmed": confirmed}, headers=self.headers
        )


def answer_of(client, knowledge_id: int) -> str:
    return client.get(f"/api/knowledge/{knowledge_id}").json()["answer"]


def labels(client) -> tuple[int, int]:
    """(right, all) of the verdicts on matches, as the quality page counts them."""
    bands = client.get("/api/quality").json()["bands"]
    return sum(b["right"] for b in bands), sum(b["labels"] for b in bands)


@BOTH_BACKENDS
def test_a_spoken_yes_to_the_check_gets_the_answer_as_the_yes_button_would(client):
    call = Call(client)
    asked = call.check()

    said = call.say("yeah that's right")

    assert said["outcome"] == "answered" and said["knowledge_id"] == asked["knowledge_id"]
    assert said["message"] == answer_of(client, asked["knowledge_id"]) and said["confirmation_id"] is None
    assert call.answer_check(asked, True).status_code == 409  # settled: the button's yes now comes too late
    assert labels(client) == (1, 1)  # a right match, labelled once
    assert client.get("/api/help-requests").json()["total"] == 0
    stats = client.get("/api/stats").json()  # one question, answered; the yes is a conversational turn
    assert (stats["asks_total"], stats["asks_answered"], stats["conversational_turns"]) == (1, 1, 1)


def test_a_spoken_no_escalates_the_question_as_the_no_button_would(client):
    call = Call(client)
    asked = call.check()

    said = call.say("nope, that's not it")

    assert said["outcome"] == "escalated" and said["message"] == MISUNDERSTOOD_MESSAGE and said["reference"]
    [request] = client.get("/api/help-requests").json()["items"]
    assert request["question"] == CHECKED
    assert call.answer_check(asked, True).status_code == 409
    assert labels(client) == (0, 1)  # a wrong match


def test_a_yes_to_the_check_said_again_still_answers_it(client):
    call = Call(client)
    asked = call.check()
    assert call.say("sorry, can you say that again?")["message"] == asked["message"]
    assert call.say("um")["outcome"] == "replied"  # an aside in between
    assert call.say("yes")["outcome"] == "answered"


def test_a_yes_with_no_check_or_after_moving_on_is_only_a_reply(client):
    call = Call(client)
    said = call.say("yes")
    assert (said["outcome"], said["message"]) == ("replied", YES_REPLY)  # nothing asked: a conversational reply
    asked = call.check()
    assert call.say("How much is a haircut?")["outcome"] == "answered"  # the caller moved on
    said = call.say("yes")
    assert (said["outcome"], said["message"]) == ("replied", YES_REPLY)
    assert call.answer_check(asked, True).json()["outcome"] == "answered"  # the check was left open


def test_a_yes_never_answers_another_calls_check(client):
    mine, theirs = Call(client), Call(client)
    asked = mine.check()
    assert theirs.say("yes")["outcome"] == "replied"  # nothing asked in their call
    their_check = theirs.check()  # the same question checked in their call: their yes answers theirs only
    assert theirs.say("yes")["outcome"] == "answered"
    assert theirs.answer_check(their_check, True).status_code == 409
    anonymous = client.post("/api/ask", json={"question": "yes"}).json()
    assert anonymous["outcome"] == "replied"
    assert mine.answer_check(asked, False).json()["outcome"] == "escalated"  # still open for its own caller


def test_a_yes_after_the_check_expired_is_only_a_reply(client):
    call = Call(client)
    asked = call.check()
    with client.app.state.runtime.store.write() as tx:  # the check's five minutes pass
        tx.execute(
            "UPDATE confirmations SET expires_at = '2000-01-01T00:00:00+00:00' WHERE id = ?",
            (asked["confirmation_id"],),
        )
    said = call.say("yes")
    assert (said["outcome"], said["message"]) == ("replied", YES_REPLY)
    assert labels(client) == (0, 0)


def test_spoken_yeses_from_one_client_count_once_as_the_buttons_do(make_client):
    client = make_client(KB_ASK_RATE_LIMIT_PER_MINUTE=0)
    call = Call(client)
    for _ in range(8):
        call.check()
        assert call.say("yes, that's right")["outcome"] == "answered"
        call.say("How much is a haircut?")
    assert labels(client) == (1, 1)  # one client's yeses to one entry count once


@BOTH_BACKENDS
def test_a_second_hand_off_reuses_the_number_the_call_gave(client):
    call = Call(client)
    assert call.say(PERSON)["message"] == HANDOFF_ASK_NUMBER
    taken = call.say("it's 415 555 0177")
    [first] = client.get("/api/callbacks").json()["items"]
    phone = first["phone"]
    assert taken["message"] == NUMBER_TAKEN.format(phone=phone) and "0177" in phone

    again = call.say("I'd like to book a blow-dry for Friday at 2pm")

    assert (again["outcome"], again["message"]) == ("handoff", HANDOFF_CALL_BACK.format(phone=phone))
    callbacks = client.get("/api/callbacks").json()["items"]
    assert sorted((c["question"], c["phone"]) for c in callbacks) == [
        ("I'd like to book a blow-dry for Friday at 2pm", phone),
        (PERSON, phone),
    ]
    assert Call(client).say(PERSON)["message"] == HANDOFF_ASK_NUMBER  # another call: its own number is asked for


def test_a_hand_off_uses_the_number_the_caller_proved(make_client, receiver):
    client = make_client(KB_CALLER_WEBHOOK_URL=receiver.url)
    call = Call(client, verified_session(client, receiver, "+1 555 010 4242"))
    said = call.say(PERSON)
    assert (said["outcome"], said["message"]) == ("handoff", HANDOFF_CALL_BACK.format(phone="+1 555 010 4242"))
    [callback] = client.get("/api/callbacks").json()["items"]
    assert callback["phone"] == "+1 555 010 4242"

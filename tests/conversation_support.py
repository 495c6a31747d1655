"""Replaying the scripted calls of tests/data/conversation_calls.jsonl over HTTP, and judging each turn."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from fastapi.testclient import TestClient

from kb_service.conversation.replies import HANDOFF_ASK_NUMBER
from tests.support import open_session

CALLS = Path(__file__).parent / "data" / "conversation_calls.jsonl"
CONVERSATIONAL = {"greeting", "thanks", "goodbye", "filler", "yes_no", "repeat", "identity", "handoff", "phone_number"}


def scripted_calls() -> list[dict]:
    return [json.loads(line) for line in CALLS.read_text().splitlines() if line.strip()]


@dataclass
class Tally:
    right: Counter = field(default_factory=Counter)
    turns: Counter = field(default_factory=Counter)
    wrong: list[str] = field(default_factory=list)
    help_requests_from_conversation: list[str] = field(default_factory=list)

    @property
    def share_right(self) -> float:
        return sum(self.right.values()) / sum(self.turns.values())

    def lines(self) -> list[str]:
        return [f"{c}: {self.right[c]}/{n}" for c, n in sorted(self.turns.items())]


def replay(client: TestClient, calls: list[dict]) -> Tally:
    """Each call in its own session, from its own address (with the caller's phone when the script gives one)."""
    answers = {e["id"]: e["answer"] for e in client.get("/api/knowledge", params={"limit": 200}).json()["items"]}
    tally = Tally()
    for number, call in enumerate(calls):
        client = TestClient(client.app, client=(f"10.0.{number // 200}.{number % 200 + 1}", 5060))
        session_id, headers = open_session(client)
        caller = {"phone": call["phone"]} if call.get("phone") else {}
        said: str | None = None
        for turn in call["turns"]:
            body = {"question": turn["say"], "session_id": session_id, "caller": caller}
            response = client.post("/api/ask", json=body, headers=headers)
            assert response.status_code == 200, response.text
            reply = response.json()
            category = turn["category"]
            tally.turns[category] += 1
            if category in CONVERSATIONAL and reply["outcome"] in ("escalated", "confirm"):
                tally.help_requests_from_conversation.append(f"{call['call']}: {turn['say']!r}")
            if _right(turn, reply, answers, said):
                tally.right[category] += 1
            else:
                tally.wrong.append(
                    f"[{category}] {call['call']}: {turn['say']!r} -> {reply['outcome']}: {reply['message']}"
                )
            said = reply["message"]
    return tally


def _right(turn: dict, reply: dict, answers: dict[int, str], said: str | None) -> bool:
    outcome = reply["outcome"]
    if turn.get("end_call") and not reply.get("end_call"):
        return False
    if turn.get("repeats") and said is not None and reply["message"] != said:
        return False
    if turn.get("keeps_number") and reply["message"] == HANDOFF_ASK_NUMBER:  # the call gave its number already
        return False
    expected = turn["expect"]
    if turn["category"] in ("question", "greeting_plus_question") and outcome == "escalated":
        # Reached matching, which found it unsure: the knowledge base's coverage, not the conversation step's
        return True
    if expected == "answered":  # every expected answer, answered outright or offered for the caller's yes
        if outcome == "confirm":
            text = answers.get(reply["knowledge_id"], "")
        elif outcome == "answered":
            text = reply["message"]
        else:
            return False
        return all(part in text for part in turn["entry"])
    if expected == "escalated" and turn.get("entry"):  # one known, one checked: the known one's answer
        return outcome == "escalated" and all(part in reply["message"] for part in turn["entry"])
    return outcome == expected and not (expected == "replied" and not turn.get("end_call") and reply["end_call"])

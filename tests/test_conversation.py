"""The conversation step over HTTP: the scripted calls of tests/data/conversation_calls.jsonl, and what each kind
of turn leaves behind (no help request for small talk, a call-back for a hand-off)."""

from __future__ import annotations

from tests.conversation_support import replay, scripted_calls


def test_the_scripted_calls_are_handled_right_and_small_talk_never_reaches_the_supervisor(make_client):
    client = make_client()
    calls = scripted_calls()
    assert len(calls) >= 40 and sum(len(c["turns"]) for c in calls) >= 150

    tally = replay(client, calls)

    print("\n".join(tally.lines() + tally.wrong))
    assert tally.help_requests_from_conversation == []
    assert tally.share_right >= 0.9, tally.wrong

"""One slow webhook receiver must not stall other notifications (issue 26, item 5): each attempt has a
wall-clock deadline, each target its own queue, and console lines never wait on a webhook."""

from __future__ import annotations

import logging
import sqlite3
import time

from tests.support import Receiver, open_session, wait_for

QUESTIONS = ["Can I park my boat behind the salon?", "Do you cut hair for llamas?", "Is there a piano I can play?"]


def outbox_errors(data_dir) -> list[tuple[str, str]]:
    with sqlite3.connect(data_dir / "frontdesk.db") as db:
        return db.execute("SELECT target, last_error FROM outbox WHERE last_error IS NOT NULL").fetchall()


def test_a_trickling_receiver_delays_neither_the_console_alert_nor_other_receivers(make_client, data_dir, caplog):
    caplog.set_level(logging.INFO, logger="frontdesk.console")
    with Receiver(trickle=3.0) as slow, Receiver() as gateway:
        client = make_client(
            KB_SUPERVISOR_WEBHOOK_URL=slow.url, KB_CALLER_WEBHOOK_URL=gateway.url, KB_ASK_RATE_LIMIT_PER_MINUTE=0
        )
        for question in QUESTIONS:
            asked_at = time.monotonic()
            reference = client.post("/api/ask", json={"question": question}).json()["reference"]
            assert reference is not None
            wait_for(lambda q=question: f'I need help answering: "{q}"' in caplog.text, what="the console alert")
            assert time.monotonic() - asked_at < 2.0  # while the webhook to `slow` trickles

        # Another receiver is served at once meanwhile: a caller's code arrives within 2 s.
        session_id, mine = open_session(client)
        asked_at = time.monotonic()
        client.post(f"/api/sessions/{session_id}/phone", json={"phone": "555-0101"}, headers=mine).raise_for_status()
        wait_for(lambda: gateway.delivered("phone.verification"), timeout=2.0, what="the code, beside the slow one")

        # The trickling attempt is cut off at its deadline, and the target's other alerts wait for the retry
        # instead of each taking a deadline of their own.
        [(target, error)] = wait_for(lambda: outbox_errors(data_dir), timeout=10, what="the attempt cut off")
        assert "no complete answer within 5 s" in error
        assert len(slow.requests) == 1
        assert target == slow.url and "/hook" not in error  # the URL's path (for Slack, the secret) is never kept


def test_a_failing_webhook_logs_and_keeps_only_the_receivers_origin(make_client, data_dir, caplog):
    caplog.set_level(logging.INFO)
    with Receiver(script=[500, 500]) as receiver:
        secret_url = receiver.url.replace("/hook", "/services/T000/B000/XyZsEcReT")
        client = make_client(KB_SUPERVISOR_WEBHOOK_URL=secret_url, KB_OUTBOX_RETRY_BASE_SECONDS=0.05)
        client.post("/api/ask", json={"question": QUESTIONS[0]})
        wait_for(lambda: receiver.delivered(), timeout=15, what="the third attempt")
        [(_, error)] = outbox_errors(data_dir)
        assert "500" in error and "XyZsEcReT" not in error and "127.0.0.1" in error
        ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("frontdesk"))
        assert "failed (attempt 2)" in ours and "127.0.0.1" in ours
        assert "XyZsEcReT" not in ours and "/services/" not in ours

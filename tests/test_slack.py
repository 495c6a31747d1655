"""KB_SUPERVISOR_WEBHOOK_FORMAT=slack: a Slack incoming-webhook message to a local receiver instead of signed JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from kb_service.desk import slack
from tests.support import BOTH_BACKENDS, Receiver, make_settings, wait_for

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
QUESTION = "<!channel> do you do eyebrow threading & tinting?"


@BOTH_BACKENDS
def test_a_new_question_posts_a_slack_message_with_the_wait_and_a_console_link(make_client):
    with Receiver(script=[500]) as hook:
        client = make_client(
            KB_SUPERVISOR_WEBHOOK_URL=hook.url,
            KB_SUPERVISOR_WEBHOOK_FORMAT="slack",
            KB_PUBLIC_URL="https://desk.example.com/",
            KB_WEBHOOK_SECRET=SECRET,
            KB_OUTBOX_RETRY_BASE_SECONDS=0.05,
        )
        asked = client.post("/api/ask", json={"question": QUESTION}).json()
        assert asked["outcome"] == "escalated", asked
        [request] = client.get("/api/help-requests", params={"status": "pending"}).json()["items"]

        [sent] = wait_for(hook.delivered, what="the Slack message (after one failed attempt)")
        assert len(hook.requests) == 2  # retried like any webhook
        assert sent["json"] == {
            "text": ":bell: A caller is waiting for an answer (just now): "
            f"\u201c&lt;!channel&gt; do you do eyebrow threading &amp; tinting?\u201d (request #{request['id']})\n"
            "<https://desk.example.com/supervisor/|Answer it in the supervisor console>"
        }
        assert "webhook-signature" not in {k.lower() for k in sent["headers"]}


def test_the_message_says_how_long_the_caller_has_waited_and_has_no_link_without_a_public_url():
    asked_at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    payload = {"question": "parking?", "help_request_id": 7, "created_at": asked_at.isoformat(), "console_url": None}
    for later, wait in [
        (timedelta(seconds=50), "just now"),
        (timedelta(minutes=12), "12 min"),
        (timedelta(hours=1, minutes=5), "1 h 05 min"),
    ]:
        text = slack.message(payload, asked_at + later)["text"]
        assert text == f":bell: A caller is waiting for an answer ({wait}): \u201cparking?\u201d (request #7)"


def test_the_standard_format_stays_the_default_and_a_bad_public_url_is_refused(tmp_path):
    assert make_settings(tmp_path).supervisor_webhook_format == "standard"
    for bad in ["desk.example.com", "ftp://desk.example.com", "https://desk.example.com/|x"]:
        with pytest.raises(ValidationError, match="KB_PUBLIC_URL must be an http"):
            make_settings(tmp_path, KB_PUBLIC_URL=bad)
    with pytest.raises(ValidationError):
        make_settings(tmp_path, KB_SUPERVISOR_WEBHOOK_FORMAT="teams")

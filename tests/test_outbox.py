"""Webhooks: at-least-once delivery with the same `webhook-id` on every attempt, Standard Webhooks signatures,
retries through errors and dropped connections, dead after the retry limit, and a `kill -9` between the
commit and the send."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.postgres_support import connect_db
from tests.support import AUTH, BOTH_BACKENDS, Receiver, request_for, wait_for
from tests.test_durability import ServiceProcess

SECRET = "whsec_" + base64.b64encode(b"a-32-byte-test-secret-for-hmac!!").decode()


def unique_by_webhook_id(requests: list[dict]) -> dict[str, dict]:
    """What a consumer does: keep the first of each webhook-id."""
    seen: dict[str, dict] = {}
    for request in requests:
        seen.setdefault(request["headers"]["webhook-id"], request)
    return seen


@BOTH_BACKENDS
def test_retries_through_500_and_a_dropped_connection_then_once(make_client, data_dir, database_url):
    with Receiver([500, "drop", 200]) as receiver:
        client = make_client(
            KB_DEMO=False,
            KB_SUPERVISOR_WEBHOOK_URL=receiver.url,
            KB_WEBHOOK_SECRET=SECRET,
            KB_OUTBOX_RETRY_BASE_SECONDS=0.05,
        )
        reference = client.post("/api/ask", json={"question": "Do you do hair extensions?"}).json()["reference"]
        request_id = request_for(client, reference)
        delivered = wait_for(lambda: receiver.delivered("help_request.created"), timeout=30, what="delivery")
        attempts = list(receiver.requests)  # the 500 and the 200; the dropped one never got a response
    assert [r["status"] for r in attempts] == [500, 200]
    assert len({r["headers"]["webhook-id"] for r in attempts}) == 1  # one id across retries
    events = unique_by_webhook_id(delivered)
    assert len(events) == 1
    event = next(iter(events.values()))
    assert event["json"]["data"]["help_request_id"] == request_id  # the supervisor's request id
    with connect_db(data_dir, database_url) as db:
        row = db.execute("SELECT status, attempts FROM outbox WHERE channel = 'webhook'").fetchone()
    assert row == ("delivered", 3)


@BOTH_BACKENDS
def test_signature_verifies_with_standardwebhooks_and_tampering_fails(make_client):
    with Receiver() as receiver:
        client = make_client(KB_DEMO=False, KB_SUPERVISOR_WEBHOOK_URL=receiver.url, KB_WEBHOOK_SECRET=SECRET)
        client.post("/api/ask", json={"question": "Can I pay with bitcoin?"})
        request = wait_for(lambda: receiver.delivered(), timeout=30, what="delivery")[0]
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert set(headers) >= {"webhook-id", "webhook-timestamp", "webhook-signature"}
    verified = Webhook(SECRET).verify(request["body"], headers)
    assert verified["data"]["question"] == "Can I pay with bitcoin?"
    tampered = request["body"].replace(b"bitcoin", b"dogecoin")
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(tampered, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(request["body"], {**headers, "webhook-id": "msg_other"})
    other_secret = "whsec_" + base64.b64encode(b"another-32-byte-secret-for-hmac!").decode()
    with pytest.raises(WebhookVerificationError):
        Webhook(other_secret).verify(request["body"], headers)


@BOTH_BACKENDS
def test_after_the_retry_limit_an_event_is_dead_and_counted(make_client):
    with Receiver([500] * 10) as receiver:
        client = make_client(
            KB_DEMO=False,
            KB_SUPERVISOR_WEBHOOK_URL=receiver.url,
            KB_OUTBOX_MAX_ATTEMPTS=2,
            KB_OUTBOX_RETRY_BASE_SECONDS=0.05,
        )
        client.post("/api/ask", json={"question": "Do you sell wigs?"})
        wait_for(lambda: client.get("/api/stats").json()["outbox_dead"] == 1, timeout=30, what="dead event")
        assert len(receiver.requests) == 2
    assert "frontdesk_outbox_dead 1.0" in client.get("/metrics").text


@pytest.mark.slow
@BOTH_BACKENDS
def test_kill_9_between_commit_and_send_still_delivers_once(tmp_path, database_url):
    """The first attempt fails and the process dies before the retry: the restart delivers the same event."""
    data_dir = tmp_path / "data"
    with Receiver([500]) as receiver:
        env = {
            "KB_DEMO": "false",
            "KB_SUPERVISOR_WEBHOOK_URL": receiver.url,
            "KB_WEBHOOK_SECRET": SECRET,
            "KB_OUTBOX_RETRY_BASE_SECONDS": "5",
            **({"KB_DATABASE_URL": database_url} if database_url else {}),
        }
        service = ServiceProcess(data_dir, **env)
        try:
            service.start()
            asked = httpx.post(f"{service.url}/api/ask", json={"question": "Is there a student discount?"}, timeout=30)
            assert asked.status_code == 200  # committed: the event is in the outbox
            wait_for(lambda: receiver.requests, timeout=30, what="the first (failing) attempt")
            service.kill9()
            assert not receiver.delivered()
            service.start()
            wait_for(lambda: receiver.delivered(), timeout=60, what="redelivery after the restart")
            stats = httpx.get(f"{service.url}/api/stats", headers=AUTH, timeout=30).json()
            assert stats["outbox_pending"] == 0 and stats["outbox_dead"] == 0
        finally:
            service.stop()
        events = unique_by_webhook_id(receiver.requests)
    assert len(events) == 1
    assert len(receiver.delivered()) == 1
    event = receiver.delivered()[0]
    assert Webhook(SECRET).verify(event["body"], {k.lower(): v for k, v in event["headers"].items()})
    assert json.loads(event["body"])["data"]["question"] == "Is there a student discount?"

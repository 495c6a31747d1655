"""Flood limits: body cap (413), per-client ask rate (429 with Retry-After), capped list pages."""

from __future__ import annotations

import http.client
import json

import httpx
import pytest

from kb_service.api.app import create_app
from kb_service.cli import server_options
from kb_service.token_buckets import TokenBuckets
from tests.support import LiveServer, make_settings


def test_oversized_body_gets_413_with_a_message(make_client):
    client = make_client(KB_DEMO=False, KB_MAX_BODY_BYTES=2048)
    big = {"answer": "x" * 3000, "questions": ["q"]}
    response = client.post("/api/knowledge", json=big)
    assert response.status_code == 413
    assert "2048 bytes" in response.json()["detail"]
    assert client.get("/api/knowledge").json()["total"] == 0
    # Just under the cap is accepted (and validated normally).
    assert client.post("/api/knowledge", json={"answer": "x" * 1500, "questions": ["q"]}).status_code == 201


def test_chunked_body_without_content_length_is_capped_too(embedder, data_dir):
    app = create_app(make_settings(data_dir, KB_DEMO=False, KB_MAX_BODY_BYTES=4096), embedder)
    with LiveServer(app) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.putrequest("POST", "/api/ask")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        chunk = b'{"question": "' + b"a" * 1000
        try:
            for _ in range(8):
                conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                chunk = b"a" * 1000
            conn.send(b'2\r\n"}\r\n0\r\n\r\n')
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before the client finishes sending
        response = conn.getresponse()
        assert response.status == 413
        assert "4096 bytes" in json.loads(response.read())["detail"]
        conn.close()
        with httpx.Client(base_url=server.url) as web:
            small = web.post(
                "/api/ask",
                content=iter([b'{"question": ', b'"hello there"}']),
                headers={"content-type": "application/json"},
            )
            assert small.status_code == 200, small.text


def test_ask_rate_limit_returns_429_with_retry_after(make_client):
    client = make_client(KB_DEMO=False, KB_ASK_RATE_LIMIT_PER_MINUTE=5)
    statuses = [client.post("/api/ask", json={"question": f"question number {i}?"}).status_code for i in range(6)]
    assert statuses == [200] * 5 + [429]
    limited = client.post("/api/ask", json={"question": "one more?"})
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert "retry" in limited.json()["detail"]
    # Only asks are limited: the supervisor's routes keep working.
    assert client.get("/api/help-requests").status_code == 200
    metrics = client.get("/metrics").text
    assert 'frontdesk_asks_total{outcome="rate_limited"} 2.0' in metrics


def test_rate_limit_zero_disables_it(make_client):
    client = make_client(KB_DEMO=False, KB_ASK_RATE_LIMIT_PER_MINUTE=0)
    assert {client.post("/api/ask", json={"question": f"q {i}?"}).status_code for i in range(70)} == {200}


def test_buckets_refill_per_client():
    clock = [0.0]
    buckets = TokenBuckets(per_minute=2, clock=lambda: clock[0])
    assert buckets.take("a") == 0 and buckets.take("a") == 0
    wait = buckets.take("a")
    assert wait == pytest.approx(30.0)
    assert buckets.take("b") == 0  # another client has its own bucket
    clock[0] += 30.0
    assert buckets.take("a") == 0


@pytest.mark.parametrize("path", ["/api/help-requests", "/api/knowledge"])
def test_list_pages_are_capped(make_client, path):
    client = make_client(KB_DEMO=False)
    response = client.get(path, params={"limit": 201})
    assert response.status_code == 422
    assert "limit" in response.json()["message"]
    assert client.get(path, params={"limit": 200}).status_code == 200


def test_metrics_needs_the_token_and_reports_state(make_client):
    client = make_client(KB_DEMO=True)
    assert client.get("/metrics", headers={"Authorization": ""}).status_code == 401
    client.post("/api/ask", json={"question": "when are you open?"})
    client.post("/api/ask", json={"question": "Do you rent out wedding dresses?", "caller": {"phone": "5550104567"}})
    text = client.get("/metrics").text
    assert 'frontdesk_asks_total{outcome="answered"} 1.0' in text
    assert 'frontdesk_asks_total{outcome="escalated"} 1.0' in text
    assert "frontdesk_ask_latency_seconds_count 2.0" in text
    assert "frontdesk_help_requests_pending 1.0" in text
    stats = client.get("/api/stats").json()
    assert f"frontdesk_index_size {float(stats['phrasings_in_index'])}" in text
    assert "frontdesk_outbox_dead 0.0" in text
    assert "frontdesk_outbox_backlog" in text
    assert "5550104567" not in text


def test_the_ask_rate_limit_counts_an_ipv6_client_as_its_slash_64(embedder, data_dir):
    """Behind a trusted proxy, asks from three addresses of one /64 share one client's budget."""
    settings = make_settings(data_dir, KB_TRUSTED_PROXIES="127.0.0.1", KB_ASK_RATE_LIMIT_PER_MINUTE=2)
    with LiveServer(create_app(settings, embedder), **server_options(settings)) as server:

        def ask_from(address: str) -> int:
            forwarded = {"X-Forwarded-For": address}
            return httpx.post(f"{server.url}/api/ask", json={"question": "hello"}, headers=forwarded).status_code

        assert [ask_from(a) for a in ("2001:db8::1", "2001:db8::2", "2001:db8::ffff:3")] == [200, 200, 429]
        assert ask_from("2001:db8:0:1::1") == 200  # the next /64 is another client

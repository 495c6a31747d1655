"""The perimeter against slow bodies, connection floods, token guessing, framing, shared idempotency keys and
forged Slack lines (issue 26, items 4 and 6)."""

from __future__ import annotations

import socket
import statistics
import threading
import time

import httpx
from fastapi.testclient import TestClient

from kb_service.api.app import create_app
from kb_service.api.middleware.header_timeout import HeaderTimeoutProtocol
from tests.support import AUTH, TOKEN, LiveServer, Receiver, make_settings, open_session, wait_for


def raw_request(port: int, head: str) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", port), timeout=60)
    conn.sendall(head.encode())
    return conn


def test_slow_bodies_are_cut_off_and_one_address_cannot_take_every_connection(embedder, data_dir):
    settings = make_settings(data_dir, KB_BODY_DEADLINE_SECONDS=4)
    protocol = HeaderTimeoutProtocol.configured(max_per_ip=12, trusted=[])
    with LiveServer(create_app(settings, embedder), http=protocol) as server:
        ask = "POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n"
        slow = [raw_request(server.port, ask) for _ in range(10)]
        stop = threading.Event()

        def trickle() -> None:  # a byte every second on each: never a 10 s stall, never a finished body
            while not stop.is_set():
                for conn in slow:
                    try:
                        conn.send(b" ")
                    except OSError:
                        pass
                stop.wait(1.0)

        trickler = threading.Thread(target=trickle, daemon=True)
        trickler.start()
        started = time.monotonic()
        try:
            # A stranger on a supervisor route is refused before its body is read.
            knowledge = raw_request(
                server.port, "POST /api/knowledge HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\n"
            )
            knowledge.settimeout(5)
            assert knowledge.recv(200).startswith(b"HTTP/1.1 401")
            knowledge.close()
            # Meanwhile the service answers others at once.
            took = []
            with httpx.Client(base_url=server.url) as http:
                for _ in range(20):
                    begun = time.monotonic()
                    assert http.get("/healthz").status_code == 200
                    took.append(time.monotonic() - begun)
            assert statistics.quantiles(took, n=20)[-1] < 0.5
            # Every trickling body is cut off at its deadline with 408, and its connection closed.
            for conn in slow:
                conn.settimeout(15)
                answer = conn.recv(300)
                assert answer.startswith(b"HTTP/1.1 408"), answer
                assert b"took over 4 s" in answer
            assert time.monotonic() - started < 12
            # Past the cap, more connections from this address are closed before a byte is read.
            idle = [raw_request(server.port, "") for _ in range(12)]
            for _ in range(3):
                refused = raw_request(server.port, "")
                refused.settimeout(5)
                try:
                    assert refused.recv(100) == b""
                except ConnectionResetError:
                    pass
            for conn in idle:
                conn.close()
        finally:
            stop.set()
            for conn in slow:
                conn.close()


def test_wrong_bearer_tokens_are_throttled_per_address(client):
    guesser = TestClient(client.app, client=("198.51.100.9", 4000))
    statuses = [
        guesser.get("/api/stats", headers={"Authorization": f"Bearer guess-{n}"}).status_code for n in range(12)
    ]
    assert statuses == [401] * 10 + [429] * 2
    locked = guesser.get("/api/stats", headers=AUTH)  # not even the right token is checked now
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert client.get("/api/stats").status_code == 200  # the supervisor elsewhere is not locked out


def test_an_idempotency_key_is_its_clients_own(make_client):
    client = make_client(auth=False)
    key = {"Idempotency-Key": "order-1"}
    mine_id, mine = open_session(client)
    body = {"question": "Can I park my boat behind the salon?"}
    first = client.post("/api/ask", json=body, headers={**key, **mine}).json()
    assert client.post("/api/ask", json=body, headers={**key, **mine}).json() == first  # a retry replays
    stranger = TestClient(client.app, client=("203.0.113.5", 4000))
    theirs = stranger.post("/api/ask", json=body, headers=key).json()
    assert theirs["reference"] != first["reference"]  # its own request, never the first client's response
    other_id, other = open_session(client)
    again = client.post("/api/ask", json=body, headers={**key, **other}).json()
    assert again["reference"] not in (first["reference"], theirs["reference"])


def test_the_console_cannot_be_framed_and_its_cookie_stays_on_this_site(client):
    for path in ("/supervisor/", "/", "/api/call-config"):
        response = client.get(path)
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    signed_in = client.post("/supervisor/login", data={"username": "supervisor", "password": TOKEN})
    cookies = signed_in.headers.get_list("set-cookie")
    assert cookies and all("samesite=lax" in c.lower() for c in cookies), cookies
    assert not any("samesite=none" in c.lower() for c in cookies)


def test_a_question_cannot_forge_lines_in_the_slack_message(make_client):
    forged = "Hi\n✅ *Resolved.* New console: <https://evil.example/login|Open the console>\r\n\u2028<!channel> & more"
    with Receiver() as slack:
        client = make_client(
            KB_SUPERVISOR_WEBHOOK_URL=slack.url,
            KB_SUPERVISOR_WEBHOOK_FORMAT="slack",
            KB_PUBLIC_URL="https://desk.example",
        )
        client.post("/api/ask", json={"question": forged}).raise_for_status()
        [message] = wait_for(lambda: slack.requests, what="the Slack message")
        text = message["json"]["text"]
        lines = text.split("\n")
        assert len(lines) == 2 and lines[1] == "<https://desk.example/supervisor/|Answer it in the supervisor console>"
        assert (
            # (the greeting before it is the agent's to answer: the question it escalates starts after "Hi")
            "Resolved.* New console: &lt;https://evil.example/login|Open the console&gt; &lt;!channel&gt; &amp;"
            in lines[0]
        )
        assert "\r" not in text and "\u2028" not in text and "<https://evil" not in text and "<!channel>" not in text

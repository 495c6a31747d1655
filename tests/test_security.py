"""Security: every route is enumerated from the live route table (mounted apps included) and must refuse a
request without the token unless it is on the explicit public list below. New routes cannot slip through."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient
from livekit.api import TokenVerifier
from starlette.routing import Mount, WebSocketRoute

from kb_service.api.app import create_app
from tests.support import AUTH, LiveServer, make_settings, open_session, request_for

# (path, method) pairs anyone may call, each with the reason. Everything else needs the supervisor token.
# The caller routes that name a session need that session's token instead (checked in the tests below).
PUBLIC = {
    ("/api/ask", "POST"): "the caller asks (with a session_id, only with its token)",
    ("/api/confirmations/{confirmation_id}", "POST"): "the caller's yes or no (one asked in a session: its token)",
    ("/api/sessions", "POST"): "the call page opens a call session",
    ("/api/sessions/current", "GET"): "the session this browser's token holds, to resume it (204 without one)",
    ("/api/sessions/{session_id}/events", "GET"): "the caller's own follow-ups, with the session's token",
    ("/api/sessions/{session_id}/callbacks", "POST"): "a waiting caller asks for a call back, with the session's token",
    ("/api/sessions/{session_id}/phone", "POST"): "a caller asks for a code to prove a number, with the token",
    ("/api/sessions/{session_id}/phone/verify", "POST"): "a caller types the code back, with the session's token",
    ("/api/call-config", "GET"): "the call page's public settings",
    ("/api/livekit/token", "POST"): "a caller's room-scoped LiveKit token, with the session's token",
    ("/api/transcribe", "POST"): "the caller's recorded question, heard here, with the session's token",
    ("/healthz", "GET"): "liveness probe",
    ("/favicon.ico", "GET"): "an empty icon (204), so browsers stop logging a 404",
    ("/openapi.json", "GET"): "API schema (no data)",
    ("/docs", "GET"): "API docs page",
    ("/docs/oauth2-redirect", "GET"): "API docs page",
    ("/redoc", "GET"): "API docs page",
}
# The console's sign-in page and its static files: nothing behind them without signing in.
CONSOLE_PUBLIC = {
    "/supervisor",  # only a redirect to the sign-in page (checked below)
    "/supervisor/",
    "/supervisor/login",
    "/supervisor/login/",
    "/supervisor/logout",
    "/supervisor/openapi.json",  # Gradio's own schema of the sign-in routes
    "/supervisor/svelte/{path:path}",
    "/supervisor/static/{path:path}",
    "/supervisor/assets/{path:path}",
    "/supervisor/favicon.ico",
    "/supervisor/theme.css",
    "/supervisor/robots.txt",
    "/supervisor/manifest.json",
    "/supervisor/pwa_icon",
    "/supervisor/pwa_icon/{size}",
    "/supervisor/gradio_api/theme.css",
    # Who am I (null before sign-in), and the app's random id: the sign-in page needs both.
    "/supervisor/gradio_api/user",
    "/supervisor/gradio_api/user/",
    "/supervisor/gradio_api/token",
    "/supervisor/gradio_api/token/",
    "/supervisor/gradio_api/app_id",
    "/supervisor/gradio_api/app_id/",
    "/supervisor/gradio_api/login_check",
    "/supervisor/gradio_api/login_check/",  # answers 401 itself
}
PUBLIC_MOUNTS = {"/": "the call page's static files"}
SAMPLE = {"help_request_id": "1", "knowledge_id": "1", "session_id": "abc"}
XSS = [
    '<script>alert("x")</script>',
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)//",
    "{{7*7}} ${7*7} <svg onload=alert(1)>",
    "'; DROP TABLE help_requests; --",
]


def routes(route_list, prefix: str = ""):
    """(path, method) for every endpoint, walking included routers and mounted sub-apps."""
    for route in route_list:
        if type(route).__name__ == "_IncludedRouter":  # FastAPI keeps included routers as one node
            for ctx in route.effective_route_contexts():
                for method in ctx.methods or ():
                    yield prefix + ctx.path, method
        elif isinstance(route, Mount):
            sub = getattr(route.app, "routes", None)
            if sub is None:
                yield prefix + route.path + "/", "MOUNT"
            else:
                yield from routes(sub, prefix + route.path)
        elif isinstance(route, WebSocketRoute):
            yield prefix + route.path, "WEBSOCKET"
        else:
            for method in getattr(route, "methods", None) or ():
                yield prefix + route.path, method


def concrete(path: str) -> str:
    path = re.sub(r"\{(\w+)(:path)?\}", lambda m: SAMPLE.get(m.group(1), "x"), path)
    return path


@pytest.fixture
def anonymous(embedder, data_dir):
    with TestClient(create_app(make_settings(data_dir), embedder)) as client:
        yield client


def test_every_route_outside_the_public_list_needs_the_token(anonymous):
    found = sorted(set(routes(anonymous.app.routes)))
    assert ("/api/help-requests/{help_request_id}/resolve", "POST") in found
    assert any(path.startswith("/supervisor/gradio_api/queue") for path, _ in found), "console not enumerated"
    checked = []
    for path, method in found:
        if method == "HEAD" or (path, method) in PUBLIC or path in CONSOLE_PUBLIC:
            continue
        if method == "MOUNT":
            assert path.rstrip("/") + "/" in {p.rstrip("/") + "/" for p in PUBLIC_MOUNTS}, path
            continue
        if method == "WEBSOCKET":
            with pytest.raises(Exception), anonymous.websocket_connect(concrete(path)):  # noqa: B017  (any refusal will do)
                pass
            continue
        for headers in ({}, {"Authorization": "Bearer wrong-token"}):
            response = anonymous.request(method, concrete(path), headers=headers, follow_redirects=False)
            refused = (401, 403, 429) if headers else (401, 403)  # wrong tokens are throttled per IP (429)
            assert response.status_code in refused, (method, path, headers, response.status_code)
            assert "application/json" in response.headers.get("content-type", "")
        checked.append((path, method))
    assert len(checked) > 40  # the API plus Gradio's API routes
    bare = anonymous.get("/supervisor", follow_redirects=False)
    assert (bare.status_code, bare.headers["location"], bare.content) == (307, "/supervisor/", b"")
    # And the token opens the API routes (so the 401s above are about the token, not broken routes), from an
    # address that has not just sent wrong tokens (this one is throttled now: 429 even with the right one).
    assert anonymous.get("/api/help-requests", headers=AUTH).status_code == 429
    supervisor = TestClient(anonymous.app, client=("192.0.2.7", 50000))
    assert supervisor.get("/api/help-requests", headers=AUTH).status_code == 200
    assert supervisor.get("/metrics", headers=AUTH).status_code == 200


def test_public_list_has_no_stale_entries(anonymous):
    found = set(routes(anonymous.app.routes))
    assert set(PUBLIC) <= found


def test_a_caller_sees_only_their_own_sessions_follow_ups(embedder, data_dir):
    app = create_app(make_settings(data_dir, KB_DEMO=False), embedder)
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as web:
        session_a, token_a = open_session(web)
        session_b, token_b = open_session(web)  # the client's cookie is now b's: a's token goes in the header
        a = web.post(
            "/api/ask",
            json={
                "question": "Do you sell gift cards?",
                "session_id": session_a,
                "caller": {"phone": "+1 555 010 1111"},
            },
            headers=token_a,
        ).json()
        b = web.post(
            "/api/ask",
            json={
                "question": "Can I bring my dog to the appointment?",
                "session_id": session_b,
                "caller": {"phone": "+1 555 010 2222"},
            },
            headers=token_b,
        ).json()
        assert a["outcome"] == b["outcome"] == "escalated"
        assert a["reference"] != b["reference"]
        # Anonymous callers cannot list or read requests (phone numbers are in there).
        assert web.get("/api/help-requests").status_code == 401
        assert web.get(f"/api/help-requests/{b['reference']}").status_code == 401
        pending = web.get("/api/help-requests", params={"status": "pending"}, headers=AUTH).json()["items"]
        request_of = {r["question"]: r["id"] for r in pending}
        for question, answer in (
            ("Can I bring my dog to the appointment?", "Dogs are welcome."),
            ("gift cards", "Yes."),
        ):
            request_id = next(i for q, i in request_of.items() if question in q)
            web.post(f"/api/help-requests/{request_id}/resolve", json={"answer": answer}, headers=AUTH)
        # b's token (as header, or as the cookie) does not open a's stream, and no token does not either.
        events_a = f"/api/sessions/{session_a}/events"
        refused = [web.get(events_a, headers=token_b), web.get(events_a)]
        web.cookies.clear()
        refused.append(web.get(events_a))
        assert [r.status_code for r in refused] == [403, 403, 403]
        assert all("555" not in r.text and "gift" not in r.text for r in refused)
        events = []
        with web.stream("GET", events_a, headers=token_a) as stream:
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
                    break
        assert [e["reference"] for e in events] == [a["reference"]]
        assert "555" not in json.dumps(events)  # no phone numbers on the caller channel
        rows = app.state.runtime.store.query("SELECT session_id FROM session_events")
        assert sorted(r["session_id"] for r in rows) == sorted([session_a, session_b])


def test_caller_routes_naming_a_session_need_its_token(make_client):
    """Asking in a session, and answering a confirmation asked in one, need the session's token: the same 403 for
    a missing token, another session's, or a session that does not exist. A made-up confirmation is a 404."""
    client = make_client(auth=False)
    mine, my_token = open_session(client)
    theirs, their_token = open_session(client)
    client.cookies.clear()
    ask = {"question": "do you do eyelash tinting?", "session_id": mine}
    refused = [
        client.post("/api/ask", json=ask),
        client.post("/api/ask", json=ask, headers=their_token),
        client.post("/api/ask", json={**ask, "session_id": "call-a"}, headers=my_token),  # a client-chosen id
    ]
    assert [r.status_code for r in refused] == [403, 403, 403]
    assert len({r.json()["detail"] for r in refused}) == 1
    asked = client.post("/api/ask", json=ask, headers=my_token).json()
    assert asked["outcome"] == "escalated", asked
    [request] = client.get("/api/help-requests", params={"status": "pending"}, headers=AUTH).json()["items"]
    client.post(
        f"/api/help-requests/{request['id']}/resolve", json={"answer": "Yes, $15."}, headers=AUTH
    ).raise_for_status()

    paraphrase = {"question": "can I get my eyelashes tinted?", "session_id": mine}
    checked = client.post("/api/ask", json=paraphrase, headers=my_token).json()
    assert checked["outcome"] == "confirm", checked
    confirmation = f"/api/confirmations/{checked['confirmation_id']}"
    for headers in ({}, their_token):
        response = client.post(confirmation, json={"confirmed": True}, headers=headers)
        assert response.status_code == 403 and "Yes, $15." not in response.text
    assert client.post("/api/confirmations/made-up-id", json={"confirmed": True}).status_code == 404
    # The refusals settled nothing: the caller's own yes still gets the answer.
    answered = client.post(confirmation, json={"confirmed": True}, headers=my_token).json()
    assert (answered["outcome"], answered["answer"]) == ("answered", "Yes, $15.")


@pytest.mark.parametrize("text", XSS)
def test_hostile_text_round_trips_as_text(make_client, text):
    client = make_client(KB_DEMO=False)
    asked = client.post("/api/ask", json={"question": text, "caller": {"name": text}})
    assert asked.status_code == 200
    assert asked.headers["content-type"].startswith("application/json")
    request = client.get(f"/api/help-requests/{request_for(client, asked.json()['reference'])}").json()
    assert request["question"] == text.strip()
    assert request["caller_name"] == text.strip()
    # learn: true, as the answer repeats the caller's name (a personal answer is not learned by default)
    resolved = client.post(f"/api/help-requests/{request['id']}/resolve", json={"answer": text, "learn": True})
    assert resolved.status_code == 200
    again = client.post("/api/ask", json={"question": text}).json()
    assert again["outcome"] == "answered" and again["answer"] == text.strip()
    assert client.get("/api/help-requests").json()["total"] == 1  # the SQL-looking text stayed text


def test_pages_never_put_text_into_html():
    web = Path(__file__).resolve().parent.parent / "agent_web"
    for source in [*web.glob("*.js"), *web.glob("*.html")]:
        assert "innerHTML" not in source.read_text(), source
        assert "insertAdjacentHTML" not in source.read_text(), source


def test_oversized_body_is_refused_before_any_work(make_client):
    client = make_client(KB_DEMO=False)
    response = client.post(
        "/api/ask", content=b'{"question": "' + b"a" * 70_000 + b'"}', headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert client.get("/api/stats").json()["asks_total"] == 0


def test_ask_flood_gets_429_with_retry_after(make_client):
    client = make_client(KB_DEMO=False)  # the default limit: 60 a minute per client
    responses = [client.post("/api/ask", json={"question": f"flood {i}?"}) for i in range(80)]
    statuses = [r.status_code for r in responses]
    assert statuses[:60] == [200] * 60
    assert 429 in statuses and set(statuses) == {200, 429}
    # The first refusal itself says when to come back (a request sent after it may already find a refilled token
    # on a slow machine: the bucket refills one a second).
    limited = next(r for r in responses if r.status_code == 429)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert client.get("/api/stats").status_code == 200


def test_livekit_tokens_are_room_scoped_short_and_without_admin(embedder, data_dir):
    key, secret = "devkey", "a-test-secret-that-is-long-enough-for-hs256"
    settings = make_settings(data_dir, LIVEKIT_URL="wss://livekit.test", LIVEKIT_API_KEY=key, LIVEKIT_API_SECRET=secret)
    with TestClient(create_app(settings, embedder)) as client:
        session_id, mine = open_session(client)
        body = client.post("/api/livekit/token", json={"session_id": session_id}, headers=mine).json()
        client.cookies.clear()
        assert client.post("/api/livekit/token", json={"session_id": session_id}).status_code == 403
    claims = TokenVerifier(key, secret).verify(body["token"])
    assert claims.video.room == body["room"] == f"call-{session_id}" and claims.video.room_join
    assert claims.video.can_publish and not claims.video.can_subscribe  # it speaks into the room, never listens
    for power in ("room_admin", "room_create", "room_list", "room_record", "ingress_admin"):
        assert not getattr(claims.video, power), power
    raw = jwt.decode(body["token"], secret, algorithms=["HS256"], issuer=key)
    assert raw["exp"] - raw["nbf"] <= 15 * 60


def test_json_log_lines_mask_phone_numbers():
    import logging

    from kb_service.ops.logs import JsonFormatter

    record = logging.LogRecord(
        "frontdesk.console",
        logging.INFO,
        __file__,
        1,
        'Hey, I need help answering: "call me on %s" (request %d)',
        ("+1 (555) 010-4567", 12),
        None,
    )
    record.caller = "555.010.9876"
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "info" and line["logger"] == "frontdesk.console"
    assert "4567" in line["message"] and "555" not in line["message"] and "(request 12)" in line["message"]
    assert line["caller"].endswith("9876") and "555" not in line["caller"]

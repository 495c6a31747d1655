"""The LiveKit token for a call and the call page's public config."""

from __future__ import annotations

import jwt
import pytest
from livekit.api import TokenVerifier

from tests.support import open_session

KEY = "devkey"
SECRET = "a-test-secret-that-is-long-enough-for-hs256"
LIVEKIT = {"LIVEKIT_URL": "wss://livekit.example.test", "LIVEKIT_API_KEY": KEY, "LIVEKIT_API_SECRET": SECRET}


@pytest.fixture
def caller_client(make_client):
    """A client without the supervisor token: the call page's routes are public."""
    return lambda **overrides: make_client(auth=False, **overrides)


def test_token_is_least_privilege_for_this_call_only(caller_client):
    client = caller_client(**LIVEKIT)
    session_id, mine = open_session(client)

    response = client.post("/api/livekit/token", json={"session_id": session_id}, headers=mine)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["url"] == "wss://livekit.example.test"
    assert body["room"] == f"call-{session_id}"
    claims = TokenVerifier(KEY, SECRET).verify(body["token"])
    assert claims.identity == body["identity"]
    assert claims.identity.startswith("caller-")
    grants = claims.video
    assert grants.room == f"call-{session_id}"
    assert grants.room_join is True
    # Publish the microphone only: the agent speaks in the caller's own browser, so a leaked token hears nothing.
    assert grants.can_publish is True and grants.can_subscribe is False
    assert grants.can_publish_sources == ["microphone"]
    assert not grants.can_publish_data
    for power in (
        "room_admin",
        "room_create",
        "room_list",
        "room_record",
        "ingress_admin",
        "agent",
        "can_update_own_metadata",
        "hidden",
        "destination_room",
    ):
        assert not getattr(grants, power), power
    assert not claims.sip.admin and not claims.sip.call

    raw = jwt.decode(body["token"], SECRET, algorithms=["HS256"], issuer=KEY)
    assert 0 < raw["exp"] - raw["nbf"] <= 15 * 60
    assert body["expires_in"] == raw["exp"] - raw["nbf"]
    assert set(raw) <= {"sub", "iss", "nbf", "exp", "name", "video"}


def test_only_the_sessions_own_token_gets_one(caller_client):
    client = caller_client(**LIVEKIT)
    mine, my_token = open_session(client)
    theirs, their_token = open_session(client)  # the client's fd_session cookie is now theirs

    # The cookie the session came with is enough on its own (the call page's way)…
    assert client.post("/api/livekit/token", json={"session_id": theirs}).json()["room"] == f"call-{theirs}"
    # …but neither it nor another session's header opens my call, and an unknown session looks the same.
    refusals = [
        client.post("/api/livekit/token", json={"session_id": mine}),
        client.post("/api/livekit/token", json={"session_id": mine}, headers=their_token),
        client.post("/api/livekit/token", json={"session_id": "made-up-session"}, headers=my_token),
    ]
    client.cookies.clear()
    refusals.append(client.post("/api/livekit/token", json={"session_id": mine}))
    assert [r.status_code for r in refusals] == [403] * 4
    assert len({r.json()["detail"] for r in refusals}) == 1  # nothing tells whether a session exists
    assert all("token" not in r.json() for r in refusals)
    assert client.post("/api/livekit/token", json={"session_id": mine}, headers=my_token).status_code == 200


def test_at_most_four_tokens_per_session_a_minute(caller_client):
    client = caller_client(**LIVEKIT)
    busy, busy_token = open_session(client)
    other, other_token = open_session(client)

    statuses = [
        client.post("/api/livekit/token", json={"session_id": busy}, headers=busy_token).status_code for _ in range(5)
    ]

    assert statuses == [200, 200, 200, 200, 429]
    limited = client.post("/api/livekit/token", json={"session_id": busy}, headers=busy_token)
    assert limited.status_code == 429 and "too many LiveKit tokens" in limited.json()["detail"]
    # The limit is the session's: another call from the same address still gets its token.
    assert client.post("/api/livekit/token", json={"session_id": other}, headers=other_token).status_code == 200


def test_each_token_gets_a_new_server_assigned_identity(caller_client):
    client = caller_client(**LIVEKIT)
    session_id, mine = open_session(client)
    first = client.post("/api/livekit/token", json={"session_id": session_id}, headers=mine).json()
    second = client.post("/api/livekit/token", json={"session_id": session_id}, headers=mine).json()
    assert first["identity"] != second["identity"]

    chosen = client.post("/api/livekit/token", json={"session_id": session_id, "identity": "supervisor"}, headers=mine)
    assert chosen.status_code == 422
    assert "identity" in chosen.json()["message"]


def test_token_does_not_verify_with_another_secret(caller_client):
    client = caller_client(**LIVEKIT)
    session_id, mine = open_session(client)
    token = client.post("/api/livekit/token", json={"session_id": session_id}, headers=mine).json()["token"]
    with pytest.raises(jwt.InvalidSignatureError):
        TokenVerifier(KEY, "another-secret-that-is-also-long-enough").verify(token)


@pytest.mark.parametrize("session_id", ["", "../admin", "a b", "x" * 65, None, 7])
def test_bad_session_ids_get_a_clear_422(caller_client, session_id):
    response = caller_client(**LIVEKIT).post("/api/livekit/token", json={"session_id": session_id})
    assert response.status_code == 422
    assert "session_id" in response.json()["message"]


@pytest.mark.parametrize("settings", [{}, {**LIVEKIT, "LIVEKIT_API_SECRET": ""}, {**LIVEKIT, "LIVEKIT_URL": "  "}])
def test_without_livekit_settings_there_is_no_token(caller_client, settings):
    client = caller_client(**settings)

    response = client.post("/api/livekit/token", json={"session_id": "abc"})

    assert response.status_code == 503
    assert response.json()["detail"].startswith("LiveKit is off")
    assert client.get("/api/call-config").json()["livekit_enabled"] is False


def test_call_config_is_public_and_has_no_secrets(caller_client):
    client = caller_client(KB_BUSINESS_NAME="Maple Street Cuts", **LIVEKIT)

    response = client.get("/api/call-config")

    assert response.status_code == 200
    assert response.json() == {
        "business_name": "Maple Street Cuts",
        "livekit_enabled": True,
        "greeting": "Hi, thanks for calling Maple Street Cuts. I'm the automated assistant: I can answer questions"
        " or have a person call you back, so how can I help?",
        "speech": "server",
    }
    assert SECRET not in response.text and KEY not in response.text


def test_the_call_page_is_served_at_the_root(caller_client):
    client = caller_client()
    page = client.get("/")
    assert page.status_code == 200
    assert 'data-testid="question-input"' in page.text
    script = client.get("/vendor/livekit-client.umd.js")
    assert script.status_code == 200
    assert "LivekitClient" in script.text[:2000]

"""The console's pieces without a browser: `GET /api/dashboard`, ApiClient, the views, and the standalone mode."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from kb_service.ops.logs import mask_phone
from supervisor_gradio import views
from supervisor_gradio.api import ApiClient, ApiError
from tests.support import AUTH, TOKEN, free_port, request_for, wait_for


@pytest.fixture
def api_client():
    """`ApiClient(base_url, token)`, each closed after the test."""
    made: list[ApiClient] = []

    def make(base_url: str, token: str = TOKEN) -> ApiClient:
        made.append(ApiClient(base_url, token))
        return made[-1]

    yield make
    for client in made:
        client.close()


def test_dashboard_counts_today_and_the_last_24_hours(client):
    assert client.get("/api/dashboard", headers={"Authorization": "Bearer wrong"}).status_code == 401
    empty = client.get("/api/dashboard").json()
    assert (empty["pending"], empty["resolved_today"], empty["unresolved_today"]) == (0, 0, 0)
    assert empty["auto_answer_rate_24h"] is None

    assert client.post("/api/ask", json={"question": "When are you open?"}).json()["outcome"] == "answered"
    first = client.post("/api/ask", json={"question": "do you do eyelash tinting?"}).json()["reference"]
    first = request_for(client, first)
    client.post("/api/ask", json={"question": "Can I bring my dog to my appointment?"})
    client.post(f"/api/help-requests/{first}/resolve", json={"answer": "Yes, $15."})

    counts = client.get("/api/dashboard").json()
    assert (counts["pending"], counts["resolved_today"], counts["unresolved_today"]) == (1, 1, 0)
    assert (counts["asks_last_24h"], counts["answered_last_24h"]) == (3, 1)
    assert counts["auto_answer_rate_24h"] == pytest.approx(1 / 3, abs=1e-3)


def test_dashboard_counts_timed_out_requests_as_unresolved_today(make_client):
    client = make_client(KB_REQUEST_TIMEOUT_SECONDS=0.3)
    client.post("/api/ask", json={"question": "do you do eyelash tinting?"})
    counts = wait_for(
        lambda: (c := client.get("/api/dashboard").json())["unresolved_today"] == 1 and c,
        what="the request to time out",
    )
    assert (counts["pending"], counts["resolved_today"]) == (0, 0)


def test_api_client_reports_the_services_own_message(server, api_client):
    client = api_client(server.url)
    with pytest.raises(ApiError) as missing:
        client.help_request(999)
    assert missing.value.status_code == 404
    assert "999" in missing.value.message
    with pytest.raises(ApiError) as invalid:
        client.create_knowledge("", ["x"])
    assert invalid.value.status_code == 422
    assert "answer" in invalid.value.message
    with pytest.raises(ApiError) as refused:
        api_client(server.url, "wrong").pending()
    assert refused.value.status_code == 401
    with pytest.raises(ApiError) as unreachable:
        api_client(f"http://127.0.0.1:{free_port()}").pending()
    assert unreachable.value.status_code == 0
    assert "cannot reach" in unreachable.value.explain()


def test_pending_is_oldest_first_across_pages(server, api_client):
    client = api_client(server.url)
    with httpx.Client(base_url=server.url) as http:
        ids = [
            request_for(http, http.post("/api/ask", json={"question": q}).json()["reference"])
            for q in ("do you do eyelash tinting?", "Can I bring my dog to my appointment?", "Is there wifi?")
        ]
    assert [item["id"] for item in client.pending()] == sorted(ids)
    assert [item["id"] for item in client.all_help_requests("pending", order="oldest", cap=2)] == sorted(ids)[:2]


def test_masked_phone_keeps_only_the_last_four_digits_behind_a_fixed_width_mask():
    assert mask_phone("+1 (555) 123-4567") == "•••4567"
    assert mask_phone("+44 20 7946 0958 12") == "•••5812"  # a longer number: the same width
    assert mask_phone("555-0101") == "•••0101"
    assert mask_phone(None) == "" and mask_phone("") == ""
    assert views.who("Ana", "555 123 4567") == "Ana · •••4567"
    assert views.who(None, "555 123 4567") == "•••4567"
    assert views.who(None, None) == "anonymous"


def test_search_is_a_plain_substring_never_a_regex():
    item = {"question": "Price (with tax)?", "answer": "$20.", "answered_by": "supervisor", "callers": []}
    assert views.matches(item, "(with")
    assert views.matches(item, "PRICE")
    assert views.matches(item, "$20")
    assert not views.matches(item, ".*")
    assert not views.matches(item, "[")
    assert views.matches(item, "  ")


def test_durations_read_well():
    assert [views.duration(s) for s in (5, 125, 3 * 3600 + 300, 2 * 86400 + 3600)] == [
        "5 s",
        "2 min",
        "3 h 05 min",
        "2 d 1 h",
    ]


def test_standalone_console_signs_in_with_the_token_and_reads_the_queue(server, api_client):
    from supervisor_gradio.console import build_console

    escalated = httpx.post(f"{server.url}/api/ask", json={"question": "do you do eyelash tinting?"}).json()
    with httpx.Client(base_url=server.url) as http:
        request_id = request_for(http, escalated["reference"])
    client = api_client(server.url)
    port = free_port()
    blocks = build_console(lambda request: client)
    blocks.launch(
        server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, auth=("supervisor", TOKEN)
    )
    try:
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/config").status_code == 401
        assert (
            httpx.post(
                f"{base}/gradio_api/call/send_answer", json={"data": [request_id, "Yes", "", True, []]}
            ).status_code
            == 401
        )
        with httpx.Client() as browser:
            assert browser.post(f"{base}/login", data={"username": "supervisor", "password": TOKEN}).status_code == 200
            started = browser.post(
                f"{base}/gradio_api/call/send_answer",
                json={"data": [request_id, "Yes, $15.", "", True, []]},  # request, answer, wording, learn, ticks
            )
            assert started.status_code == 200, started.text
            with browser.stream(
                "GET", f"{base}/gradio_api/call/send_answer/{started.json()['event_id']}", timeout=30
            ) as events:
                assert "Follow-up sent to 1 waiting caller" in "".join(events.iter_text())
    finally:
        blocks.close()
    resolved = httpx.get(f"{server.url}/api/help-requests/{request_id}", headers=AUTH).json()
    assert resolved["answer"] == "Yes, $15."


def test_standalone_command_needs_a_working_token(server):
    run = [sys.executable, "-m", "supervisor_gradio"]
    assert "--api" in subprocess.run([*run, "--help"], capture_output=True, text=True, check=True).stdout
    env = {"PATH": "/usr/bin:/bin", "KB_SUPERVISOR_TOKEN": ""}
    missing = subprocess.run([*run, "--api", server.url], capture_output=True, text=True, env=env)
    assert missing.returncode != 0 and "no supervisor token" in missing.stderr
    wrong = subprocess.run([*run, "--api", server.url, "--token", "wrong"], capture_output=True, text=True, env=env)
    assert wrong.returncode != 0 and "refused the console" in wrong.stderr and "Traceback" not in wrong.stderr

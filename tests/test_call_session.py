"""Resuming a call in a new tab: `GET /api/sessions/current` over HTTP, and the call page's "Resume your call" in
real Chromium at desktop and phone width."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from kb_service.desk.help_requests import CHECKING_MESSAGE
from tests.support import AUTH, open_session, wait_for

KNOWN = "What are your opening hours?"
HOURS = "We're open Tuesday to Friday"
UNKNOWN = "Do you do eyelash tinting?"
VIEWPORTS = [("desktop", {"width": 1366, "height": 850}), ("phone", {"width": 390, "height": 844})]


@pytest.fixture
def caller_client(make_client):
    return make_client(auth=False)


def test_no_session_or_a_wrong_token_gets_204(caller_client):
    assert caller_client.get("/api/sessions/current").status_code == 204
    caller_client.cookies.set("fd_session", "not-a-token", path="/api")
    assert caller_client.get("/api/sessions/current").status_code == 204
    assert caller_client.get("/api/sessions/current", headers={"X-Session-Token": "x" * 129}).status_code == 422


def test_the_cookies_session_comes_with_its_turns_and_what_it_waits_for(caller_client):
    mine, my_token = open_session(caller_client)
    empty = caller_client.get("/api/sessions/current")
    assert empty.status_code == 200
    assert empty.json()["session_id"] == mine and empty.json()["turns"] == [] and empty.json()["waiting"] == []

    caller_client.post("/api/ask", json={"question": KNOWN, "session_id": mine})
    waiting = caller_client.post("/api/ask", json={"question": UNKNOWN, "session_id": mine}).json()
    reference = waiting.get("reference", waiting.get("help_request_id"))
    theirs, their_token = open_session(caller_client)  # the cookie is theirs now; my header still proves mine
    caller_client.post("/api/ask", json={"question": "Where are you located?", "session_id": theirs})

    body = caller_client.get("/api/sessions/current", headers=my_token).json()
    assert body["session_id"] == mine
    assert [(t["question"], t["outcome"]) for t in body["turns"]] == [(KNOWN, "answered"), (UNKNOWN, "escalated")]
    assert HOURS in body["turns"][0]["answer"] and body["turns"][1]["answer"] is None
    assert body["waiting"] == [reference]
    assert [t["question"] for t in caller_client.get("/api/sessions/current").json()["turns"]] == [
        "Where are you located?"
    ]

    request = caller_client.get("/api/help-requests", params={"status": "pending"}, headers=AUTH).json()["items"][0]
    caller_client.post(f"/api/help-requests/{request['id']}/resolve", json={"answer": "Yes, $15."}, headers=AUTH)
    assert caller_client.get("/api/sessions/current", headers=my_token).json()["waiting"] == []


def pending_id(server, question: str) -> int:
    def find():
        items = httpx.get(f"{server.url}/api/help-requests", params={"status": "pending"}, headers=AUTH).json()
        return next((r["id"] for r in items["items"] if r["question"] == question), None)

    return wait_for(find, what=f"a pending help request for {question!r}")


def open_tab(context, url: str) -> Page:
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and page.errors.append(msg.text))
    page.goto(url + "/")
    expect(page.get_by_test_id("transcript")).to_contain_text("how can I help?")
    return page


def ask(page: Page, text: str) -> None:
    page.get_by_test_id("question-input").fill(text)
    page.get_by_test_id("question-input").press("Enter")


def lines(page: Page, kind: str):
    return page.get_by_test_id("transcript").locator(f"li.{kind} .text")


@pytest.mark.parametrize("name,viewport", VIEWPORTS)
def test_a_new_tab_resumes_the_call_and_hears_its_follow_up(server, browser, name, viewport):
    context = browser.new_context(viewport=viewport)
    try:
        first = open_tab(context, server.url)
        expect(first.get_by_test_id("resume")).to_be_hidden()  # nothing to resume in a fresh browser
        ask(first, KNOWN)
        expect(lines(first, "agent").last).to_contain_text(HOURS)
        ask(first, UNKNOWN)
        expect(lines(first, "agent").last).to_have_text(CHECKING_MESSAGE)
        first.close()  # the caller closes the tab while the supervisor looks into it

        tab = open_tab(context, server.url)
        prompt = tab.get_by_test_id("resume")
        expect(prompt).to_be_visible()
        expect(prompt).to_contain_text("2 questions so far")
        assert prompt.bounding_box()["y"] + prompt.bounding_box()["height"] <= viewport["height"]
        tab.get_by_test_id("resume-button").click()

        expect(prompt).to_be_hidden()
        expect(lines(tab, "caller")).to_have_text([KNOWN, UNKNOWN])
        expect(lines(tab, "agent").last).to_contain_text(HOURS)
        expect(tab.get_by_test_id("waiting-note")).to_contain_text("Waiting for the supervisor on 1 question")

        answer = httpx.post(
            f"{server.url}/api/help-requests/{pending_id(server, UNKNOWN)}/resolve",
            headers=AUTH,
            json={"answer": "Yes, eyelash tinting is $15."},
        )
        assert answer.status_code == 200
        expect(lines(tab, "followup")).to_have_count(1, timeout=5000)
        expect(lines(tab, "followup").first).to_contain_text("Yes, eyelash tinting is $15.")
        expect(tab.get_by_test_id("waiting-note")).to_have_text("")

        tab.reload()  # the resumed call is this tab's own now
        expect(lines(tab, "followup")).to_have_count(1)
        expect(tab.get_by_test_id("resume")).to_be_hidden()
        assert tab.errors == []
    finally:
        context.close()


def test_starting_over_leaves_the_old_call(server, browser):
    context = browser.new_context(viewport={"width": 1366, "height": 850})
    try:
        first = open_tab(context, server.url)
        ask(first, UNKNOWN)
        expect(lines(first, "agent").last).to_have_text(CHECKING_MESSAGE)
        first.close()

        tab = open_tab(context, server.url)
        expect(tab.get_by_test_id("resume")).to_be_visible()
        tab.get_by_test_id("resume-dismiss").click()
        expect(tab.get_by_test_id("resume")).to_be_hidden()
        expect(lines(tab, "caller")).to_have_count(0)
        expect(tab.get_by_test_id("waiting-note")).to_have_text("")
        ask(tab, KNOWN)
        expect(lines(tab, "agent").last).to_contain_text(HOURS)

        again = open_tab(context, server.url)  # the browser now holds the new call, with one question
        expect(again.get_by_test_id("resume")).to_contain_text(re.compile(r"\(1 question so far\)"))
        assert tab.errors == [] and again.errors == []
    finally:
        context.close()


@pytest.mark.parametrize("name,viewport", VIEWPORTS)
def test_call_me_back_instead_is_in_view_while_the_call_waits(server, browser, name, viewport):
    context = browser.new_context(viewport=viewport)
    try:
        page = open_tab(context, server.url)
        page.get_by_test_id("caller-phone").fill("+1 555 0100")
        ask(page, UNKNOWN)
        button = page.get_by_test_id("callback-button")
        expect(button).to_be_visible()
        assert page.evaluate("window.scrollY") == 0
        box = button.bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], (box, viewport)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        button.click()
        expect(page.get_by_test_id("callback-note")).not_to_have_text("")
        assert page.errors == []
    finally:
        context.close()

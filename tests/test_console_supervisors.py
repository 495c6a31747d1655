"""Several people at the desk, in headless Chromium: a named supervisor signs in with the password
`frontdesk supervisors add` printed, their answer is signed with their name, and History shows who answered
whom. The shared token still signs in as `supervisor` and works for API clients."""

from __future__ import annotations

import re

import httpx
import pytest
from click.testing import CliRunner
from playwright.sync_api import expect

from kb_service.cli import main
from tests.browser_support import choose_request, open_console, sign_in
from tests.support import AUTH, TOKEN

pytestmark = pytest.mark.slow

TINTING = "do you do eyelash tinting?"
TEST_CALL = "this is only a test call, ignore it"


def add_supervisor(data_dir, name: str) -> str:
    env = {"KB_DATA_DIR": str(data_dir), "KB_SUPERVISOR_TOKEN": TOKEN}
    result = CliRunner(env=env).invoke(main, ["supervisors", "add", name], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return re.search(r"password (\S+)", result.output).group(1)


def escalate(server, question: str, name: str) -> int:
    asked = httpx.post(f"{server.url}/api/ask", json={"question": question, "caller": {"name": name}}, timeout=30)
    assert asked.json()["outcome"] == "escalated", asked.text
    items = httpx.get(f"{server.url}/api/help-requests", params={"status": "pending"}, headers=AUTH).json()["items"]
    return next(item["id"] for item in items if item["question"] == question)


def test_a_named_supervisor_signs_in_and_signs_each_answer(browser, server, data_dir, dialogs):
    password = add_supervisor(data_dir, "Maria")
    tinting = escalate(server, TINTING, "Ana")
    test_call = escalate(server, TEST_CALL, "Bo")
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    try:
        page = context.new_page()
        sign_in(page, f"{server.url}/supervisor/", password + "x", "Maria")
        expect(page.get_by_text(re.compile("incorrect credentials", re.I))).to_be_visible(timeout=10_000)
        console = open_console(page, server.url, password, "Maria")
        choose_request(console, tinting)
        console.locator("#answer-text textarea").fill("Yes, eyelash tinting is $15.")
        console.locator("#answer-send").click()
        expect(console.locator("#answer-result")).to_contain_text(f"Request #{tinting} resolved", timeout=20_000)
        choose_request(console, test_call)
        console.locator("#answer-dismiss").click()
        expect(console.locator("#answer-result")).to_contain_text(f"Request #{test_call} dismissed", timeout=20_000)

        console.get_by_role("tab", name="History").click()
        table = console.locator("#history-table")
        answered = table.get_by_role("row").filter(has_text=TINTING)
        expect(answered).to_contain_text("Maria", timeout=15_000)
        expect(answered).to_contain_text("Ana")
        expect(table.get_by_role("row").filter(has_text=TEST_CALL)).to_contain_text("dismissed by Maria")
    finally:
        context.close()
    got = httpx.get(f"{server.url}/api/help-requests/{tinting}", headers=AUTH).json()  # the shared token still works
    assert got["answered_by"] == "Maria"

    shared = browser.new_context(viewport={"width": 1280, "height": 1000})
    try:
        console = open_console(shared.new_page(), server.url)  # `supervisor` with the shared token
        console.get_by_role("tab", name="History").click()
        expect(console.locator("#history-table")).to_contain_text("Maria", timeout=15_000)
    finally:
        shared.close()
    assert dialogs == []

"""The console as a supervisor uses it, in headless Chromium against the real service: the knowledge editor
never writes one entry's text into another, and the answer form starts afresh for each request."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from kb_service.api.app import create_app
from tests.browser_support import open_console
from tests.support import AUTH, LiveServer, make_settings

pytestmark = pytest.mark.slow


@pytest.fixture
def server(embedder, data_dir):
    with LiveServer(create_app(make_settings(data_dir), embedder)) as server:
        yield server


@pytest.fixture
def console(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    try:
        yield open_console(context.new_page(), server.url)
    finally:
        context.close()


def api(server, method: str, path: str, **kwargs) -> dict:
    response = httpx.request(method, f"{server.url}{path}", headers=AUTH, **kwargs)
    assert response.status_code < 400, response.text
    return response.json()


def entry(server, knowledge_id: int) -> tuple[str, list[str]]:
    body = api(server, "GET", f"/api/knowledge/{knowledge_id}")
    return body["answer"], [p["question"] for p in body["phrasings"]]


def test_adding_an_entry_opens_it_and_save_never_overwrites_another(console, server):
    kb = console
    kb.get_by_role("tab", name="Knowledge base").click()
    expect(kb.locator("#kb-note")).to_contain_text("10 entries", timeout=15_000)
    tenth = entry(server, 10)
    kb.locator("#kb-entry-id :is(input, textarea)").fill("10")
    kb.locator("#kb-open").click()
    expect(kb.locator("#kb-edit-answer textarea")).to_have_value(tenth[0], timeout=10_000)

    kb.get_by_text("Add an entry by hand").click()
    kb.locator("#kb-create-answer textarea").fill("Yes, we have free wifi: ask at the desk.")
    kb.locator("#kb-create-questions textarea").fill("Do you have wifi?\nIs there internet?")
    kb.locator("#kb-create").click()
    expect(kb.locator("#kb-result")).to_contain_text("Added entry #11", timeout=15_000)
    expect(kb.locator("#kb-entry-id :is(input, textarea)")).to_have_value("11")
    expect(kb.locator("#kb-edit-answer textarea")).to_have_value("Yes, we have free wifi: ask at the desk.")
    expect(kb.locator("#kb-edit-phrasings textarea")).to_have_value("Do you have wifi?\nIs there internet?")

    kb.locator("#kb-save").click()
    expect(kb.locator("#kb-result")).to_contain_text("Saved entry #11", timeout=15_000)
    assert entry(server, 11) == (
        "Yes, we have free wifi: ask at the desk.",
        ["Do you have wifi?", "Is there internet?"],
    )
    assert entry(server, 10) == tenth

    # A number typed but not opened: Save refuses rather than write #11's text into #10.
    kb.locator("#kb-entry-id :is(input, textarea)").fill("10")
    kb.locator("#kb-save").click()
    expect(kb.locator("#kb-result")).to_contain_text("Nothing saved: the editor holds entry #11", timeout=15_000)
    assert entry(server, 10) == tenth
    assert entry(server, 11)[0] == "Yes, we have free wifi: ask at the desk."

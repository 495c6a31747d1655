"""The console's Import tab in headless Chromium against the real service: paste pairs or upload a file, read the
preview (wrong lines named, near-duplicates warned about), fix, import, and find the entries through the API; over
the demo salon alone, replace the demo or keep it.

Set CONSOLE_SCREENSHOTS=docs/screenshots to refresh the committed screenshot of the tab."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser_support import open_console
from tests.support import AUTH

pytestmark = pytest.mark.slow

WALK_INS = "Yes, we take walk-ins whenever a stylist is free, but booking ahead is the only way to be sure of a slot."
GOOD = [
    "Do you do eyelash tinting? | Yes, eyelash tinting is $15 and takes 15 minutes.",
    "Can I get my lashes tinted?\tYes, eyelash tinting is $15 and takes 15 minutes.",
    "Can I come in without booking? | " + WALK_INS,
    "What time do you open in the morning? | We open at 8am on Saturdays.",
]
BAD = "<b>Do you do nails?</b>"  # no answer: the line is named, shown as text


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 1100})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    open_console(page, server.url)
    page.get_by_role("tab", name="Import").click()
    yield page
    context.close()
    assert errors == []


def knowledge(server, **params) -> dict:
    response = httpx.get(f"{server.url}/api/knowledge", params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


def test_paste_preview_fix_and_import(page, server, tmp_path):
    before = knowledge(server, limit=1)["total"]
    text = page.locator("#import-text textarea")
    go = page.locator("#import-go")
    text.fill("\n".join([GOOD[0], BAD, GOOD[1]]))
    page.locator("#import-preview").click()
    summary = page.locator("#import-summary")
    expect(summary).to_contain_text("1 problem to fix on line 2 before anything can be imported", timeout=15_000)
    table = page.locator("#import-table")
    expect(table).to_contain_text("no answer: put a tab or ' | ' between the question and its answer")
    expect(go).to_be_disabled()

    text.fill("\n".join(GOOD))
    page.locator("#import-preview").click()
    expect(summary).to_contain_text(
        "4 lines read well: 2 new entries, 1 phrasing added to entries already there", timeout=15_000
    )
    expect(summary).to_contain_text("1 line with a question close to another entry's")
    expect(table).to_contain_text("is close in meaning")
    expect(table).to_contain_text("adds to entry #")
    expect(table).to_contain_text("joins line 1's new entry")
    expect(go).to_be_enabled()
    folder = Path(os.environ.get("CONSOLE_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / "console-import.png"), full_page=True)
    page.get_by_role("radio", name="Keep the demo too").check()  # these lines build on the demo's entries
    assert knowledge(server, limit=1)["total"] == before  # the preview wrote nothing

    text.press("End")
    text.type(" ")  # changed since the preview: Import waits for a new one
    expect(go).to_be_disabled()
    page.locator("#import-preview").click()
    expect(go).to_be_enabled(timeout=15_000)
    go.click()
    expect(page.locator("#import-result")).to_have_text(
        "Imported 2 entries, added 1 phrasing to existing entries. Find them in the Knowledge base tab.",
        timeout=15_000,
    )
    expect(go).to_be_disabled()
    assert knowledge(server, limit=1)["total"] == before + 2
    found = knowledge(server, q="Do you do eyelash tinting?", limit=1)["items"][0]
    assert found["answer"] == "Yes, eyelash tinting is $15 and takes 15 minutes."
    assert [p["question"] for p in found["phrasings"]] == ["Do you do eyelash tinting?", "Can I get my lashes tinted?"]

    page.locator("#import-preview").click()  # the same text again: everything is there already
    expect(summary).to_contain_text("0 new entries, 0 phrasings added", timeout=15_000)
    expect(go).to_be_disabled()


def test_upload_a_csv_file_then_import_it(page, server, tmp_path):
    before = knowledge(server, limit=1)["total"]
    upload = tmp_path / "faq.csv"
    upload.write_text(
        "answer,question\n"
        '"Yes, we sell shampoo and conditioner.",Do you sell hair products?\n'
        '"Yes, we sell shampoo and conditioner.",Can I buy shampoo here?\n'
        "'=1+1 is two.,'=1+1?\n",
        encoding="utf-8",
    )
    page.locator("#import-file input[type=file]").set_input_files(str(upload))
    expect(page.locator("#import-result")).to_contain_text("File read", timeout=15_000)
    expect(page.get_by_role("radio", name="CSV")).to_be_checked()
    expect(page.locator("#import-text textarea")).to_have_value(upload.read_text(encoding="utf-8"))
    page.locator("#import-preview").click()
    expect(page.locator("#import-summary")).to_contain_text("3 lines read well: 2 new entries", timeout=15_000)
    page.get_by_role("radio", name="Keep the demo too").check()
    page.locator("#import-go").click()
    expect(page.locator("#import-result")).to_contain_text("Imported 2 entries.", timeout=15_000)
    assert knowledge(server, limit=1)["total"] == before + 2
    formula = knowledge(server, q="=1+1?", limit=1)["items"][0]
    assert (formula["answer"], formula["phrasings"][0]["question"]) == ("=1+1 is two.", "=1+1?")


def test_an_unquoted_comma_in_a_csv_is_named_at_the_top(page, server):
    rows = [f'"Answer {n}, in full.",Question number {n}?' for n in range(1, 25)]
    rows[19] = "Yes, today at 3pm.,I have a toothache, can I be seen today?"  # line 21 with the header
    page.get_by_role("radio", name="CSV").check()
    page.locator("#import-text textarea").fill("answer,question\n" + "\n".join(rows))
    page.locator("#import-preview").click()
    summary = page.locator("#import-summary")
    expect(summary).to_contain_text("1 problem to fix on line 21 before anything can be imported", timeout=15_000)
    first = page.locator("#import-table").get_by_role("row").nth(1)  # the wrong line heads the table
    expect(first).to_contain_text("21")
    expect(first).to_contain_text("4 cells where the header has 2: a comma inside a question or answer cuts it")
    expect(page.locator("#import-go")).to_be_disabled()


DENTAL = {
    "How much is teeth whitening?": "Whitening is $250 for one in-office session of about an hour.",
    "Do you see children?": "Yes, we see children from age three, with a parent in the room.",
    "Do you accept Aetna?": "Yes, we accept Aetna and most PPO dental plans; bring your card.",
}


def import_dental_over_the_demo(page, choice: str) -> None:
    page.locator("#import-text textarea").fill("\n".join(f"{q} | {a}" for q, a in DENTAL.items()))
    page.locator("#import-preview").click()
    expect(page.locator("#import-summary")).to_contain_text("3 lines read well: 3 new entries", timeout=15_000)
    demo = page.locator("#import-demo")
    expect(demo).to_be_visible()
    expect(demo).to_contain_text("Your knowledge base holds only the demo salon. Replace the demo with your entries?")
    expect(page.get_by_role("radio", name="Replace the demo with your entries (recommended)")).to_be_checked()
    page.get_by_role("radio", name=choice).check()
    page.locator("#import-go").click()


def test_the_first_import_over_the_demo_can_replace_it(page, server):
    demo_entries = knowledge(server, limit=1)["total"]
    assert demo_entries > 3
    import_dental_over_the_demo(page, "Replace the demo with your entries (recommended)")
    expect(page.locator("#import-result")).to_have_text(
        f"Replaced the demo ({demo_entries} entries); imported 3 entries. Find them in the Knowledge base tab.",
        timeout=15_000,
    )
    expect(page.locator("#import-demo")).to_be_hidden()
    remaining = knowledge(server, limit=50)
    assert remaining["total"] == 3
    assert {item["answer"] for item in remaining["items"]} == set(DENTAL.values())

    page.locator("#import-text textarea").fill("Do you do implants? | Yes, implants start at $3,000 a tooth.")
    page.locator("#import-preview").click()  # the demo is gone: nothing to ask any more
    expect(page.locator("#import-summary")).to_contain_text("1 new entry", timeout=15_000)
    expect(page.locator("#import-go")).to_be_enabled()
    expect(page.locator("#import-demo")).to_be_hidden()


def test_the_first_import_over_the_demo_can_keep_it(page, server):
    demo = {item["answer"] for item in knowledge(server, limit=200)["items"]}
    import_dental_over_the_demo(page, "Keep the demo too")
    expect(page.locator("#import-result")).to_have_text(
        "Imported 3 entries. Find them in the Knowledge base tab.", timeout=15_000
    )
    kept = knowledge(server, limit=200)
    assert kept["total"] == len(demo) + 3
    assert {item["answer"] for item in kept["items"]} == demo | set(DENTAL.values())

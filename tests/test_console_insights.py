"""The console's Insights tab in headless Chromium against the real service: two weeks of calls made through the
API (then moved back in time), read as charts and tables, for 30 days and for 7.

Set CONSOLE_SCREENSHOTS=docs/screenshots to refresh the committed screenshot of the tab."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from kb_service.storage.sqlite import SqliteStore
from kb_service.storage.store import iso
from tests.browser_support import open_console
from tests.support import AUTH
from tests.test_secrets_and_data import move_back

pytestmark = pytest.mark.slow

KNOWN = ["When are you open?", "Where are you located?", "How much is a haircut?", "Do you take walk-ins?"]
TINTING = ["do you do eyelash tinting?", "Do you tint eyelashes?"]  # one meaning, two requests
DOG = "Can I bring my dog to my appointment?"
# Days ago -> what was asked that day.
CALLS = {
    12: [KNOWN[0], KNOWN[1], DOG],
    9: [KNOWN[0], KNOWN[2], KNOWN[3]],
    5: [KNOWN[1], TINTING[0], KNOWN[0], KNOWN[2]],
    2: [KNOWN[3], KNOWN[0], KNOWN[1]],
    0: [TINTING[1], KNOWN[2], KNOWN[0]],
}


def api(server, method: str, path: str, **kwargs):
    response = httpx.request(method, f"{server.url}{path}", headers=AUTH, timeout=30, **kwargs)
    assert response.status_code < 400, response.text
    return response.json()


def a_fortnight_of_calls(server, data_dir) -> None:
    store = SqliteStore(data_dir / "frontdesk.db")
    try:
        for days_ago, questions in CALLS.items():
            seen = store.scalar("SELECT COALESCE(MAX(id), 0) FROM ask_log")
            seen_requests = store.scalar("SELECT COALESCE(MAX(id), 0) FROM help_requests")
            for question in questions:
                api(server, "POST", "/api/ask", json={"question": question})
            for item in api(server, "GET", "/api/help-requests", params={"status": "pending"})["items"]:
                if item["id"] > seen_requests and item["question"] == DOG:
                    answer = {"answer": "Only guide dogs, sorry.", "learn": False}
                    api(server, "POST", f"/api/help-requests/{item['id']}/resolve", json=answer)
            asks = {r[0] for r in store.query("SELECT rowid FROM ask_log WHERE id > ?", (seen,))}
            requests = {r[0] for r in store.query("SELECT rowid FROM help_requests WHERE id > ?", (seen_requests,))}
            if days_ago:
                move_back(store, {"ask_log": asks, "help_requests": requests}, days_ago)
        with store.write() as tx:  # the supervisor took 12 minutes over the dog question
            row = tx.execute("SELECT id, created_at FROM help_requests WHERE status = 'resolved'").fetchone()
            opened = datetime.fromisoformat(row["created_at"]) - timedelta(minutes=12)
            tx.execute("UPDATE help_requests SET created_at = ? WHERE id = ?", (iso(opened), row["id"]))
    finally:
        store.close()


def test_the_insights_tab_charts_the_days_and_names_what_escalates(browser, server, data_dir, tmp_path):
    a_fortnight_of_calls(server, data_dir)
    month = api(server, "GET", "/api/insights", params={"days": 30})
    week = api(server, "GET", "/api/insights", params={"days": 7})
    assert month["totals"]["questions"] == 16 and week["totals"]["questions"] == 10
    assert month["top_escalated"][0]["question"] == TINTING[1] and month["top_escalated"][0]["requests"] == 2

    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        open_console(page, server.url)
        page.get_by_role("tab", name="Insights").click()
        totals = page.locator("#insights-totals")
        expect(totals).to_contain_text("Last 30 days", timeout=15_000)
        expect(totals).to_contain_text("median time to an answer 12 min")
        expect(totals).to_contain_text(
            f"{month['totals']['questions']} questions · auto-answered "
            f"{month['totals']['auto_answer_rate']:.0%} · {month['totals']['escalations']} escalations · "
            f"{month['totals']['resolved']} answered by you"
        )
        chart = page.locator("#insights-plot img")
        expect(chart).to_be_visible(timeout=15_000)
        assert chart.evaluate("img => img.naturalWidth > 800 && img.src.startsWith('data:image/png')")
        escalated = page.locator("#insights-escalated")
        expect(escalated).to_contain_text(TINTING[1])
        expect(escalated).to_contain_text(DOG)
        expect(escalated.get_by_test_id("cell-0-0")).to_have_text(TINTING[1])  # the most asked first
        expect(escalated.get_by_test_id("cell-0-2")).to_have_text("2")  # two requests, one meaning
        note = page.locator("#insights-unused-note")
        expect(note).to_contain_text(f"{month['unused_total']} entries not used to answer anyone in 30 days")
        expect(page.locator("#insights-unused")).to_contain_text(month["unused_entries"][0]["answer"])
        folder = Path(os.environ.get("CONSOLE_SCREENSHOTS") or tmp_path)
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / "console-insights.png"), full_page=True)

        page.get_by_role("radio", name="7 days").click()
        expect(totals).to_contain_text("Last 7 days", timeout=15_000)
        expect(totals).to_contain_text(f"{week['totals']['questions']} questions")
        expect(escalated).not_to_contain_text(DOG)  # asked 12 days ago
    finally:
        context.close()
    assert errors == []

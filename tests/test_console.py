"""The supervisor console in headless Chromium against the real service (real model, SQLite, HTTP)."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser_support import browser_page, choose_request, open_console, pending_table, sign_in
from tests.support import AUTH, TOKEN, verified_session, wait_for

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def server(receiver, serve):  # the receiver first, so it outlives the server
    return serve(KB_CALLER_WEBHOOK_URL=receiver.url)


def ask(server, question: str, **caller) -> dict:
    response = httpx.post(f"{server.url}/api/ask", json={"question": question, "caller": caller})
    assert response.status_code == 200, response.text
    return response.json()


def escalate(server, question: str, **caller) -> int:
    """Ask what the agent cannot answer; the id of the request the supervisor sees (not the caller's reference)."""
    body = ask(server, question, **caller)
    assert body["outcome"] == "escalated", body
    return request_asking(server, question)["id"]


def request_asking(server, question: str) -> dict:
    """The pending request opened by `question` (asked first in those very words)."""
    pending = api(server, "GET", "/api/help-requests", params={"status": "pending", "limit": 100}).json()["items"]
    found = [r for r in pending if r["question"] == question.strip()]
    assert len(found) == 1, (question, pending)
    return found[0]


def api(server, method: str, path: str, **kwargs) -> httpx.Response:
    return httpx.request(method, f"{server.url}{path}", headers=AUTH, **kwargs)


# ---- sign-in and server-side protection


def test_sign_in_needs_the_supervisor_token(page, server):
    sign_in(page, f"{server.url}/supervisor/", password="not-the-token")
    expect(page.get_by_text(re.compile("incorrect credentials", re.I))).to_be_visible(timeout=10_000)
    expect(page.locator("#console-header")).to_have_count(0)

    sign_in(page, f"{server.url}/supervisor/")
    expect(page.locator("#console-header")).to_contain_text("0 pending", timeout=20_000)


def test_console_api_refuses_callers_without_the_sign_in_cookie(server):
    help_request_id = escalate(server, "do you do eyelash tinting?", name="Ana", phone="+1 555 123 4567")
    base = f"{server.url}/supervisor"
    resolve_call = {"data": [help_request_id, "Yes, $15.", "", True, []]}  # request, answer, wording, learn, ticks

    with httpx.Client() as anonymous:
        assert anonymous.get(f"{base}/config").status_code == 401
        assert anonymous.get(f"{base}/gradio_api/info").status_code == 401
        refused = anonymous.post(f"{base}/gradio_api/call/send_answer", json=resolve_call)
        assert refused.status_code == 401
        joined = anonymous.post(
            f"{base}/gradio_api/queue/join", json={"fn_index": 0, "data": [], "session_hash": "x", "event_data": None}
        )
        assert joined.status_code == 401
        assert "tinting" not in refused.text + joined.text
        bad_login = anonymous.post(f"{base}/login", data={"username": "supervisor", "password": "guess"})
        assert bad_login.status_code >= 400
        assert anonymous.post(f"{base}/gradio_api/call/send_answer", json=resolve_call).status_code == 401
    assert api(server, "GET", f"/api/help-requests/{help_request_id}").json()["status"] == "pending"

    # The same call with the sign-in cookie goes through, so the refusals above are the auth check at work.
    with httpx.Client() as signed_in:
        assert signed_in.post(f"{base}/login", data={"username": "supervisor", "password": TOKEN}).status_code == 200
        assert signed_in.get(f"{base}/config").status_code == 200
        accepted = signed_in.post(f"{base}/gradio_api/call/send_answer", json=resolve_call)
        assert accepted.status_code == 200, accepted.text
        event_id = accepted.json()["event_id"]
        with signed_in.stream("GET", f"{base}/gradio_api/call/send_answer/{event_id}", timeout=30) as events:
            assert "complete" in "".join(events.iter_text())
    assert api(server, "GET", f"/api/help-requests/{help_request_id}").json()["status"] == "resolved"


# ---- the pending queue and answering


def test_answer_a_request_follows_up_and_learns(console, server, receiver):
    expect(console.get_by_text("No callers are waiting")).to_be_visible()
    session_id, mine = verified_session(httpx.Client(base_url=server.url), receiver, "+1 555 123 4567")
    body = {"question": "do you do eyelash tinting?", "caller": {"name": "Ana", "phone": "+1 555 123 4567"}}
    asked = httpx.post(f"{server.url}/api/ask", json={**body, "session_id": session_id}, headers=mine).json()
    assert asked["outcome"] == "escalated", asked
    help_request_id = request_asking(server, "do you do eyelash tinting?")["id"]

    row = pending_table(console).get_by_role("row").filter(has_text="do you do eyelash tinting?")
    expect(row).to_be_visible(timeout=15_000)
    expect(row).to_contain_text("Ana · •••4567")
    expect(row).not_to_contain_text("555 123")
    expect(console.locator("#console-header")).to_contain_text("1 pending")

    choose_request(console, help_request_id)
    console.locator("#answer-text textarea").fill("Yes, eyelash tinting is $15.")
    console.locator("#answer-send").click()
    expect(console.locator("#answer-result")).to_contain_text(
        f"Request #{help_request_id} resolved. Follow-up sent to 1 waiting caller.", timeout=20_000
    )
    expect(row).to_have_count(0, timeout=15_000)
    expect(console.get_by_text("No callers are waiting")).to_be_visible()
    expect(console.locator("#console-header")).to_contain_text("1 resolved today")

    followups = wait_for(lambda: receiver.delivered("help_request.resolved"), what="the caller follow-up")
    assert followups[0]["json"]["data"]["answer"] == "Yes, eyelash tinting is $15."
    assert followups[0]["json"]["data"]["caller_phone"] == "+1 555 123 4567"
    assert followups[0]["json"]["data"]["reference"] == asked["reference"]  # Ana's own reference

    # Learned: the question in its own words is answered at once; a paraphrase after the caller confirms it.
    again = ask(server, "do you do eyelash tinting?")
    assert (again["outcome"], again["answer"]) == ("answered", "Yes, eyelash tinting is $15."), again
    checked = ask(server, "can I get my eyelashes tinted?")
    assert checked["outcome"] == "confirm", checked
    assert checked["message"].startswith("Just to check") and "do you do eyelash tinting?" in checked["message"]
    confirmed = httpx.post(f"{server.url}/api/confirmations/{checked['confirmation_id']}", json={"confirmed": True})
    assert confirmed.status_code == 200, confirmed.text
    assert (confirmed.json()["outcome"], confirmed.json()["answer"]) == ("answered", "Yes, eyelash tinting is $15.")


def test_use_this_answer_adds_a_phrasing_to_the_existing_entry(console, server):
    question = "Can I bring my dog to my appointment?"
    entries_before = api(server, "GET", "/api/knowledge").json()["total"]
    help_request_id = escalate(server, question)
    nearest = api(server, "GET", "/api/knowledge", params={"q": question, "limit": 1}).json()["items"][0]

    expect(pending_table(console)).to_contain_text(question, timeout=15_000)
    choose_request(console, help_request_id)
    first = console.locator("#suggestion-0")
    console.locator("#suggestions-more").click()  # nothing in the demo comes close: every suggestion is weak
    expect(first).to_contain_text("Suggestion 1: weak match", timeout=10_000)
    expect(first.locator("textarea, input").first).to_have_value(nearest["answer"])
    console.locator("#use-suggestion-0").click()
    expect(console.locator("#answer-result")).to_contain_text(
        f"added as a new phrasing of entry #{nearest['id']}", timeout=20_000
    )

    entry = api(server, "GET", f"/api/knowledge/{nearest['id']}").json()
    assert question in [p["question"] for p in entry["phrasings"]]
    assert api(server, "GET", "/api/knowledge").json()["total"] == entries_before
    resolved = api(server, "GET", f"/api/help-requests/{help_request_id}").json()
    assert (resolved["status"], resolved["knowledge_id"]) == ("resolved", nearest["id"])
    again = ask(server, question)
    assert (again["outcome"], again["knowledge_id"]) == ("answered", nearest["id"])


def test_already_resolved_elsewhere_is_said_clearly(console, server):
    help_request_id = escalate(server, "Do you have a vending machine?")
    expect(pending_table(console)).to_contain_text("vending machine", timeout=15_000)
    choose_request(console, help_request_id)
    console.locator("#answer-text textarea").fill("Only small dogs, please.")

    taken = api(server, "POST", f"/api/help-requests/{help_request_id}/resolve", json={"answer": "No pets, sorry."})
    assert taken.status_code == 200
    console.locator("#answer-send").click()
    expect(console.locator("#answer-result")).to_contain_text(
        f"Request #{help_request_id} was already answered or closed by someone else", timeout=20_000
    )
    expect(console.locator("#answer-text textarea")).to_have_value("Only small dogs, please.")
    assert api(server, "GET", f"/api/help-requests/{help_request_id}").json()["answer"] == "No pets, sorry."


def test_refresh_keeps_what_the_supervisor_is_typing(console, server):
    first = escalate(server, "Is there wifi for customers?")
    expect(pending_table(console)).to_contain_text("wifi", timeout=15_000)
    choose_request(console, first)
    console.locator("#answer-text textarea").fill("Yes, the password is on the mirror.")
    console.locator("#answer-question :is(input, textarea)").fill("Do you have wifi?")

    escalate(server, "Do you sell shampoo to take home?")
    expect(pending_table(console)).to_contain_text("shampoo", timeout=15_000)  # a refresh happened
    expect(console.locator("#console-header")).to_contain_text("2 pending")
    expect(console.locator("#answer-text textarea")).to_have_value("Yes, the password is on the mirror.")
    expect(console.locator("#answer-question :is(input, textarea)")).to_have_value("Do you have wifi?")
    expect(console.locator("#pending-select input")).to_have_value(re.compile(rf"^#{first} ·"))


def test_queue_is_oldest_first_and_counts_waiting_callers(console, server):
    bo = ask(server, "Do you do eyelash extensions?", name="Bo", phone="555-0101")
    older = request_asking(server, "Do you do eyelash extensions?")["id"]
    newer = escalate(server, "Is there a student discount?", name="Cy")
    di = ask(server, "Do you do eyelash extensions?", name="Di", phone="555-0199")
    assert bo["outcome"] == di["outcome"] == "escalated"
    assert di["reference"] != bo["reference"]  # each caller's own reference…
    joined = api(server, "GET", f"/api/help-requests/{older}").json()  # …to the one request Di joined
    assert [c["name"] for c in joined["callers"]] == ["Bo", "Di"]
    assert api(server, "GET", "/api/help-requests", params={"status": "pending"}).json()["total"] == 2
    table = pending_table(console)
    expect(table).to_contain_text("student discount", timeout=15_000)
    rows = table.get_by_role("row")
    expect(rows.nth(1)).to_contain_text("eyelash extensions")
    expect(rows.nth(1)).to_contain_text("Bo · •••0101")
    expect(rows.nth(1).get_by_role("gridcell").nth(4)).to_have_text("2")
    expect(rows.nth(2)).to_contain_text("student discount")
    expect(rows.nth(2).get_by_role("gridcell").nth(6)).to_contain_text("min")
    assert newer > older


# ---- safety


def test_caller_text_is_shown_literally_and_runs_nothing(console, server, dialogs):
    question = f"{XSS} do you do nails?"
    help_request_id = escalate(server, question, name=XSS)
    expect(pending_table(console)).to_contain_text(question, timeout=15_000)
    caller_cell = pending_table(console).get_by_role("row").nth(1).get_by_role("gridcell").nth(3)
    expect(caller_cell).to_have_text(XSS)  # the caller's name, also literal
    choose_request(console, help_request_id)
    console.locator("#answer-text textarea").fill(f"No nails, sorry {XSS}")
    console.locator("#answer-send").click()
    expect(console.locator("#answer-result")).to_contain_text("resolved", timeout=20_000)

    console.get_by_role("tab", name="History").click()
    expect(console.locator("#history-table")).to_contain_text(f"No nails, sorry {XSS}", timeout=15_000)
    expect(console.locator("#history-table")).to_contain_text(question)
    assert console.locator("img[src='x']").count() == 0
    assert console.evaluate("() => document.querySelectorAll('img[onerror]').length") == 0
    assert dialogs == []


# ---- history


def test_history_filters_by_status_and_searches_plain_text(browser, serve, dialogs):
    server = serve(KB_REQUEST_TIMEOUT_SECONDS=4)
    with browser_page(browser, dialogs) as page:
        answered = escalate(server, "Do you sell shampoo (the salon brand)?")
        resolved = api(server, "POST", f"/api/help-requests/{answered}/resolve", json={"answer": "Yes, $20."})
        assert resolved.status_code == 200, resolved.text
        expired = escalate(server, "Do you have a vending machine?")
        wait_for(
            lambda: api(server, "GET", f"/api/help-requests/{expired}").json()["status"] == "unresolved",
            timeout=20,
            what="the request to time out",
        )
        open_console(page, server.url)
        page.get_by_role("tab", name="History").click()
        table = page.locator("#history-table")
        expect(table).to_contain_text("vending machine", timeout=15_000)
        expect(table).to_contain_text("Yes, $20.")
        expect(table).to_contain_text("supervisor")
        expect(table).to_contain_text("timed out")

        page.locator("#history-status").get_by_label("resolved", exact=True).check()
        expect(table).not_to_contain_text("vending machine", timeout=10_000)
        expect(table).to_contain_text("shampoo")

        page.locator("#history-status").get_by_label("all", exact=True).check()
        page.locator("#history-search :is(input, textarea)").fill("(the salon")  # regex syntax, searched as plain text
        page.locator("#history-search :is(input, textarea)").press("Enter")
        expect(page.locator("#history-note")).to_contain_text("1 request", timeout=10_000)
        expect(table).to_contain_text("shampoo")
        expect(table).not_to_contain_text("vending machine")
        assert dialogs == []


# ---- knowledge base


def test_edit_add_phrasing_delete_and_create_entries(console, server):
    console.get_by_role("tab", name="Knowledge base").click()
    table = console.locator("#kb-table")
    expect(table).to_contain_text("42 Maple Street", timeout=15_000)
    expect(console.locator("#kb-note")).to_contain_text("10 entries")

    console.locator("#kb-query :is(input, textarea)").fill("where can I park?")
    console.locator("#kb-search").click()
    expect(console.locator("#kb-note")).to_contain_text("entries match", timeout=15_000)
    expect(table.get_by_role("row").nth(1)).to_contain_text("42 Maple Street")

    address = api(server, "GET", "/api/knowledge", params={"q": "where can I park?", "limit": 1}).json()["items"][0]
    assert address["hit_count"] == 0
    table.get_by_role("row").nth(1).get_by_role("gridcell").nth(1).click()
    expect(console.locator("#kb-edit-answer textarea")).to_have_value(address["answer"], timeout=10_000)
    expect(console.locator("#kb-entry-title")).to_contain_text(
        f"Entry #{address['id']} · used 0 times, last used never"
    )

    console.locator("#kb-edit-answer textarea").fill("We're at 7 Oak Avenue, with free parking out front.")
    console.locator("#kb-save").click()
    expect(console.locator("#kb-result")).to_contain_text(f"Saved entry #{address['id']}", timeout=15_000)
    assert api(server, "GET", f"/api/knowledge/{address['id']}").json()["answer"].startswith("We're at 7 Oak")

    console.locator("#kb-new-phrasing :is(input, textarea)").fill("Is there somewhere to leave my car?")
    console.locator("#kb-add-phrasing").click()
    expect(console.locator("#kb-result")).to_contain_text("Added a phrasing", timeout=15_000)
    phrasings = [p["question"] for p in api(server, "GET", f"/api/knowledge/{address['id']}").json()["phrasings"]]
    assert "Is there somewhere to leave my car?" in phrasings
    assert len(phrasings) == len(address["phrasings"]) + 1
    assert ask(server, "Is there somewhere to leave my car?")["knowledge_id"] == address["id"]

    console.locator("#kb-delete").click()
    expect(console.get_by_text(f"Delete entry #{address['id']}?")).to_be_visible()
    console.locator("#kb-delete-no").click()
    expect(console.locator("#kb-result")).to_contain_text("Not deleted.")
    assert api(server, "GET", f"/api/knowledge/{address['id']}").status_code == 200
    console.locator("#kb-delete").click()
    console.locator("#kb-delete-yes").click()
    expect(console.locator("#kb-result")).to_contain_text(f"Deleted entry #{address['id']}", timeout=15_000)
    assert api(server, "GET", f"/api/knowledge/{address['id']}").status_code == 404
    assert ask(server, "What's your address?")["outcome"] == "escalated"

    console.get_by_text("Add an entry by hand").click()
    console.locator("#kb-create-answer textarea").fill("Yes, we have free wifi: ask at the desk.")
    console.locator("#kb-create-questions textarea").fill("Do you have wifi?\nIs there internet?")
    console.locator("#kb-create").click()
    expect(console.locator("#kb-create-result")).to_contain_text("Added entry #", timeout=15_000)
    created = ask(server, "Do you have wifi?")
    assert (created["outcome"], created["answer"]) == ("answered", "Yes, we have free wifi: ask at the desk.")
    console.locator("#kb-all").click()
    expect(table).to_contain_text("Do you have wifi? | Is there internet?", timeout=15_000)

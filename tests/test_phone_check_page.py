"""The call page's "Text me a code" form: a caller proves their number, and only then is the answer texted."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.support import AUTH, wait_for

PHONE = "+1 555 010 4242"


@pytest.fixture
def server(receiver, serve):  # the receiver first, so it outlives the server
    return serve(KB_CALLER_WEBHOOK_URL=receiver.url)


def test_a_caller_proves_their_number_on_the_call_page_and_is_texted_the_answer(page, server, receiver):
    page.goto(f"{server.url}/")
    page.get_by_test_id("caller-phone").fill(PHONE)
    page.get_by_test_id("phone-send-code").click()
    expect(page.get_by_test_id("phone-check-status")).to_contain_text("We texted a code to •••4242")
    [text] = wait_for(lambda: receiver.delivered("phone.verification"), what="the code's text")
    code = re.search(r"\b(\d{6})\b", text["json"]["data"]["message"]).group(1)

    page.get_by_test_id("phone-code").fill("000000" if code != "000000" else "111111")
    page.get_by_test_id("phone-verify").click()
    expect(page.get_by_test_id("phone-check-status")).to_contain_text("that code is wrong; 4 tries left")
    page.get_by_test_id("phone-code").fill(code)
    page.get_by_test_id("phone-code").press("Enter")  # Enter confirms the code; it does not ask a question
    expect(page.get_by_test_id("phone-check-status")).to_have_text("Thanks: we will text •••4242.")
    expect(page.get_by_test_id("phone-verify")).to_be_hidden()

    page.get_by_test_id("question-input").fill("Can I park my boat behind the salon?")
    page.get_by_test_id("question-input").press("Enter")
    expect(page.get_by_test_id("waiting-note")).to_contain_text("Waiting for the supervisor", timeout=15_000)
    with httpx.Client(base_url=server.url, headers=AUTH) as http:
        [request] = http.get("/api/help-requests", params={"status": "pending"}).json()["items"]
        assert request["callers"][0]["phone_verified"] is True
        http.post(f"/api/help-requests/{request['id']}/resolve", json={"answer": "No boats, sorry."}).raise_for_status()
    [followup] = wait_for(lambda: receiver.delivered("help_request.resolved"), what="the follow-up text")
    assert followup["json"]["data"]["caller_phone"] == PHONE
    assert "No boats, sorry." in followup["json"]["data"]["message"] and "boat behind" not in str(followup["json"])

"""SMS pumping and smishing: texts go only to a number its caller proved with a one-time code, within hourly caps,
and never carry the caller's own words (issue 26, item 1)."""

from __future__ import annotations

import re

import httpx

from kb_service.api.app import create_app
from kb_service.cli import server_options
from tests.support import LiveServer, Receiver, make_settings, open_session, verified_session, wait_for

PHISH_NAME = "customer. Your card was charged $499"
PHISH_QUESTION = "Dispute at https://evil.example/refund now or lose your account"


def ask(client, question: str, phone: str | None = None, name: str | None = None, session=None) -> dict:
    body: dict = {"question": question, "caller": {"phone": phone, "name": name}}
    headers = {}
    if session is not None:
        body["session_id"], headers = session
    response = client.post("/api/ask", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def code_of(receiver: Receiver, session_id: str) -> str:
    texts = wait_for(
        lambda: [
            r["json"]["data"]["message"]
            for r in receiver.delivered("phone.verification")
            if r["json"]["data"]["session_id"] == session_id
        ],
        what="the code's text",
    )
    return re.search(r"\b(\d{6})\b", texts[-1]).group(1)


def test_a_number_nobody_proved_is_never_texted_and_shows_unverified_in_callbacks(make_client):
    with Receiver() as gateway:
        client = make_client(KB_CALLER_WEBHOOK_URL=gateway.url, KB_REQUEST_TIMEOUT_SECONDS=0.5)
        made_up = [f"555-01{n:02d}" for n in range(5)]
        for n, phone in enumerate(made_up):  # the pumper: made-up numbers, its own words, no session
            ask(client, f"{PHISH_QUESTION} #{n}?", phone=phone, name=PHISH_NAME)
        proved = verified_session(client, gateway, "555-0999")
        ask(client, "Can I park my boat behind the salon?", session=proved)
        # The proved caller's apology is queued after every other one: once it is out, the others had their turn.
        wait_for(lambda: gateway.delivered("help_request.unresolved"), timeout=20, what="the proved caller's text")
        wait_for(lambda: client.get("/api/callbacks").json()["total"] == 6, what="six call-backs")
        texted = [
            r["json"]["data"]["caller_phone"] for r in gateway.delivered() if r["json"]["type"] != "phone.verification"
        ]
        assert texted == ["555-0999"]
        callbacks = client.get("/api/callbacks").json()["items"]
        verified = {c["phone"]: c["phone_verified"] for c in callbacks}
        assert verified == {**{phone: False for phone in made_up}, "555-0999": True}


def test_a_text_carries_the_answer_and_a_link_but_never_the_callers_words(make_client):
    with Receiver() as gateway:
        client = make_client(KB_CALLER_WEBHOOK_URL=gateway.url, KB_PUBLIC_URL="https://desk.example.com")
        session = verified_session(client, gateway, "+1 555 010 7788")
        ask(client, PHISH_QUESTION, phone="+1 (555) 010-7788", name=PHISH_NAME, session=session)
        [request] = client.get("/api/help-requests", params={"status": "pending"}).json()["items"]
        assert request["callers"][0]["phone_verified"] is True  # the same number, written differently
        resolved = client.post(
            f"/api/help-requests/{request['id']}/resolve", json={"answer": "We refund within 14 days."}
        )
        assert resolved.status_code == 200, resolved.text
        [text] = wait_for(lambda: gateway.delivered("help_request.resolved"), what="the follow-up text")
        data = text["json"]["data"]
        assert "We refund within 14 days." in data["message"]
        assert re.search(r"your question from \d{1,2}:\d{2} [ap]m", data["message"])
        assert f"https://desk.example.com/?session={session[0]}" in data["message"]
        for words in ("evil", "Dispute", "customer", "499", "card"):
            assert words not in str(data), words
        code_texts = [r["json"]["data"]["message"] for r in gateway.delivered("phone.verification")]
        assert all("evil" not in t and "customer" not in t for t in code_texts)


def test_another_number_than_the_proved_one_is_not_texted(make_client):
    with Receiver() as gateway:
        client = make_client(KB_CALLER_WEBHOOK_URL=gateway.url, KB_REQUEST_TIMEOUT_SECONDS=0.5)
        session = verified_session(client, gateway, "555-0111")
        ask(client, "Do you do wedding hair trials on Sundays?", phone="555-0222", session=session)
        wait_for(lambda: client.get("/api/callbacks").json()["total"] == 1, timeout=15, what="the time-out")
        [callback] = client.get("/api/callbacks").json()["items"]
        assert (callback["phone"], callback["phone_verified"]) == ("555-0222", False)
        # Asking again on the proved number is texted: the earlier one never was.
        ask(client, "Can I bring my dog to the salon?", session=session)
        wait_for(lambda: gateway.delivered("help_request.unresolved"), timeout=15, what="the proved number's text")
        assert [r["json"]["data"]["caller_phone"] for r in gateway.delivered("help_request.unresolved")] == ["555-0111"]


def test_a_code_needs_the_session_token_and_allows_few_wrong_tries(make_client):
    with Receiver() as gateway:
        client = make_client(KB_CALLER_WEBHOOK_URL=gateway.url)
        session_id, mine = open_session(client)
        _, theirs = open_session(client)
        url = f"/api/sessions/{session_id}/phone"
        assert client.post(url, json={"phone": "555-0101"}).status_code == 403
        assert client.post(url, json={"phone": "555-0101"}, headers=theirs).status_code == 403
        assert client.post(url, json={"phone": "call me maybe"}, headers=mine).status_code == 422
        assert client.post(f"{url}/verify", json={"code": "123456"}, headers=mine).status_code == 409  # none sent
        sent = client.post(url, json={"phone": "555-0101"}, headers=mine)
        assert sent.status_code == 200 and "0101" in sent.json()["message"]
        code = code_of(gateway, session_id)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        answers = [client.post(f"{url}/verify", json={"code": wrong}, headers=mine) for _ in range(5)]
        assert [a.status_code for a in answers] == [400] * 5
        assert "4 tries left" in answers[0].json()["detail"] and "new code" in answers[-1].json()["detail"]
        assert client.post(f"{url}/verify", json={"code": code}, headers=mine).status_code == 409  # spent
        assert client.post(f"{url}/verify", json={"code": code}, headers=theirs).status_code == 403
        client.post(url, json={"phone": "555-0101"}, headers=mine).raise_for_status()
        fresh = wait_for(lambda: (c := code_of(gateway, session_id)) != code and c, what="a new code")
        verified = client.post(f"{url}/verify", json={"code": fresh}, headers=mine)
        assert verified.status_code == 200 and verified.json()["verified"] is True


def test_an_expired_code_does_not_prove_the_number(make_client):
    with Receiver() as gateway:
        client = make_client(KB_CALLER_WEBHOOK_URL=gateway.url, KB_PHONE_CODE_TTL_SECONDS=0.001)
        session_id, mine = open_session(client)
        client.post(f"/api/sessions/{session_id}/phone", json={"phone": "555-0101"}, headers=mine).raise_for_status()
        expired = client.post(
            f"/api/sessions/{session_id}/phone/verify", json={"code": code_of(gateway, session_id)}, headers=mine
        )
        assert expired.status_code == 409 and "expired" in expired.json()["detail"]


def test_texts_are_capped_per_number_and_per_client(make_client):
    with Receiver() as gateway:
        client = make_client(KB_CALLER_WEBHOOK_URL=gateway.url, KB_SMS_PER_NUMBER_PER_HOUR=2, KB_SMS_PER_IP_PER_HOUR=3)
        session_id, mine = open_session(client)
        url = f"/api/sessions/{session_id}/phone"
        codes = [client.post(url, json={"phone": "555-0101"}, headers=mine).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        assert client.post(url, json={"phone": "555-0202"}, headers=mine).status_code == 200  # the IP's third
        refused = client.post(url, json={"phone": "555-0303"}, headers=mine)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
        assert "this client" in refused.json()["detail"]
        wait_for(lambda: len(gateway.delivered("phone.verification")) == 3, what="three codes")


def test_a_client_rotating_the_low_bits_of_its_ipv6_address_is_one_client(embedder, data_dir):
    """Behind a trusted proxy, codes asked from three addresses of one /64 count against one client's cap."""
    settings = make_settings(
        data_dir, KB_TRUSTED_PROXIES="127.0.0.1", KB_SMS_PER_IP_PER_HOUR=2, KB_SMS_PER_NUMBER_PER_HOUR=0
    )
    with LiveServer(create_app(settings, embedder), **server_options(settings)) as server:

        def code_from(address: str, phone: str) -> httpx.Response:
            forwarded = {"X-Forwarded-For": address}
            session = httpx.post(f"{server.url}/api/sessions", headers=forwarded).json()
            mine = {**forwarded, "X-Session-Token": session["session_token"]}
            url = f"{server.url}/api/sessions/{session['session_id']}/phone"
            return httpx.post(url, json={"phone": phone}, headers=mine)

        sent = [code_from(a, p).status_code for a, p in (("2001:db8::1", "555-0101"), ("2001:db8::2", "555-0202"))]
        refused = code_from("2001:db8::ffff:3", "555-0303")
        assert sent == [200, 200] and refused.status_code == 429 and "this client" in refused.json()["detail"]
        assert code_from("2001:db8:0:1::1", "555-0404").status_code == 200  # the next /64 is another client


def test_texts_are_capped_for_the_whole_business(make_client):
    with Receiver() as gateway:
        client = make_client(KB_CALLER_WEBHOOK_URL=gateway.url, KB_SMS_PER_IP_PER_HOUR=0, KB_SMS_PER_HOUR=2)
        statuses = []
        for phone in ("555-0101", "555-0202", "555-0303"):
            session_id, mine = open_session(client)
            statuses.append(client.post(f"/api/sessions/{session_id}/phone", json={"phone": phone}, headers=mine))
        assert [s.status_code for s in statuses] == [200, 200, 429]
        assert "this business" in statuses[-1].json()["detail"]

"""Similar waiting questions: listed after one is answered, and sent the same answer through the resolve path."""

from __future__ import annotations

from tests.support import Receiver, verified_session, wait_for

FIRST = "do you do eyelash tinting?"
LIKE_IT = ["Do you offer eyelash tinting?", "Do you tint eyelashes?"]
UNLIKE = "how much is leg tinting?"  # about tinting too, but it wants another answer
ANSWER = "Yes, eyelash tinting is $15."


def escalate(client, question: str, phone: str, callers: Receiver | None = None) -> dict:
    """With `callers` (the SMS gateway), the caller first proves `phone`: only a proved number is texted."""
    body: dict = {"question": question, "caller": {"phone": phone}}
    mine: dict = {}
    if callers is not None:
        body["session_id"], mine = verified_session(client, callers, phone)
    asked = client.post("/api/ask", json=body, headers=mine).json()
    assert asked["outcome"] == "escalated", asked
    return asked


def pending_ids(client) -> dict[str, int]:
    items = client.get("/api/help-requests", params={"status": "pending"}).json()["items"]
    return {r["question"]: r["id"] for r in items}


def test_similar_waiting_questions_get_the_same_answer_and_each_caller_a_follow_up(make_client):
    with Receiver() as callers:
        client = make_client(KB_CALLER_WEBHOOK_URL=callers.url)
        references = {
            q: escalate(client, q, f"555-000-{i:04d}", callers)["reference"]
            for i, q in enumerate([FIRST, *LIKE_IT, UNLIKE])
        }
        ids = pending_ids(client)
        assert len(ids) == 4, ids  # below KB_DUPLICATE_THRESHOLD: each its own request

        assert client.get(f"/api/help-requests/{ids[FIRST]}/similar").status_code == 200  # also while pending
        resolved = client.post(f"/api/help-requests/{ids[FIRST]}/resolve", json={"answer": ANSWER}).json()
        knowledge_id = resolved["knowledge_id"]

        page = client.get(f"/api/help-requests/{ids[FIRST]}/similar").json()
        assert page["threshold"] == 0.82
        assert sorted(i["question"] for i in page["items"]) == sorted(LIKE_IT)
        assert all(0.82 <= i["similarity"] < 0.92 for i in page["items"]), page
        assert page["items"][0]["similarity"] >= page["items"][1]["similarity"]

        chosen = [ids[LIKE_IT[0]], ids[UNLIKE], ids[LIKE_IT[0]]]  # one not similar; one given twice
        sent = client.post(f"/api/help-requests/{ids[FIRST]}/similar/resolve", json={"help_request_ids": chosen})
        assert sent.status_code == 200, sent.text
        assert sent.json() == {"resolved": [ids[LIKE_IT[0]]], "skipped": [ids[UNLIKE]], "followups_queued": 1}

        done = client.get(f"/api/help-requests/{ids[LIKE_IT[0]]}").json()
        assert (done["status"], done["answer"], done["knowledge_id"]) == ("resolved", ANSWER, knowledge_id)
        assert client.get(f"/api/help-requests/{ids[UNLIKE]}").json()["status"] == "pending"
        phrasings = [p["question"] for p in client.get(f"/api/knowledge/{knowledge_id}").json()["phrasings"]]
        assert phrasings == [FIRST, LIKE_IT[0]]  # learned like a resolve with that entry

        followups = wait_for(lambda: len(callers.delivered("help_request.resolved")) == 2, what="two texts") and (
            callers.delivered("help_request.resolved")
        )
        by_reference = {f["json"]["data"]["reference"]: f["json"]["data"] for f in followups}
        offered = by_reference[references[LIKE_IT[0]]]
        assert offered["answer"] == ANSWER and LIKE_IT[0] not in offered["message"]  # no caller words in a text

        # Sent already: the second time it is skipped, and only the other one is left to offer.
        again = client.post(
            f"/api/help-requests/{ids[FIRST]}/similar/resolve", json={"help_request_ids": [ids[LIKE_IT[0]]]}
        ).json()
        assert (again["resolved"], again["skipped"]) == ([], [ids[LIKE_IT[0]]])
        left = client.get(f"/api/help-requests/{ids[FIRST]}/similar").json()["items"]
        assert [i["id"] for i in left] == [ids[LIKE_IT[1]]]


def test_bad_similar_calls_get_clear_errors(make_client):
    client = make_client()
    escalate(client, FIRST, "555-000-0001")
    escalate(client, LIKE_IT[0], "555-000-0002")
    ids = pending_ids(client)
    pending = client.post(
        f"/api/help-requests/{ids[FIRST]}/similar/resolve", json={"help_request_ids": [ids[LIKE_IT[0]]]}
    )
    assert pending.status_code == 409 and "answer it first" in pending.text
    assert client.get("/api/help-requests/9999/similar").status_code == 404
    empty = client.post(f"/api/help-requests/{ids[FIRST]}/similar/resolve", json={"help_request_ids": []})
    assert empty.status_code == 422
    wrong = {"Authorization": "Bearer not-the-token"}
    assert client.get(f"/api/help-requests/{ids[FIRST]}/similar", headers=wrong).status_code == 401
    assert client.get(f"/api/help-requests/{ids[LIKE_IT[0]]}").json()["status"] == "pending"

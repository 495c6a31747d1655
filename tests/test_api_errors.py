"""Bad input gets a clear 4xx with a message: never a 500, never lost data."""

from __future__ import annotations

import pytest

from tests.support import TOKEN, request_for


def test_empty_question_is_422_with_a_message(client):
    for question in ("", "   "):
        response = client.post("/api/ask", json={"question": question})
        assert response.status_code == 422
        assert "question" in response.json()["message"]


def test_question_over_1000_characters_is_422(client):
    response = client.post("/api/ask", json={"question": "a" * 1001})
    assert response.status_code == 422
    assert "1000" in response.json()["message"]
    assert client.post("/api/ask", json={"question": "a" * 1000}).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"question": "hours?", "extra": 1},
        {"question": "hours?", "caller": {"name": "Ann", "email": "a@b.c"}},
    ],
)
def test_unknown_fields_are_422(client, body):
    response = client.post("/api/ask", json=body)
    assert response.status_code == 422
    assert "Extra inputs" in response.json()["message"]


def test_malformed_json_and_wrong_types_are_422(client):
    assert (
        client.post("/api/ask", content=b"{not json", headers={"content-type": "application/json"}).status_code == 422
    )
    assert client.post("/api/ask", json={"question": 42}).status_code == 422
    assert client.post("/api/ask", json=["question"]).status_code == 422
    assert client.post("/api/ask", json={"question": "hi", "session_id": "../../etc"}).status_code == 422
    assert client.post("/api/ask", json={"question": "hi", "caller": {"phone": "call me maybe"}}).status_code == 422


def test_missing_ids_are_404(client):
    assert client.get("/api/help-requests/999").status_code == 404
    response = client.post("/api/help-requests/999/resolve", json={"answer": "x"})
    assert response.status_code == 404 and "999" in response.json()["detail"]
    assert client.get("/api/knowledge/999").status_code == 404
    assert client.patch("/api/knowledge/999", json={"answer": "x"}).status_code == 404
    assert client.delete("/api/knowledge/999").status_code == 404


def test_resolving_with_a_missing_knowledge_id_is_404_and_leaves_the_request_pending(client):
    request_id = request_for(
        client, client.post("/api/ask", json={"question": "Do you do henna tattoos?"}).json()["reference"]
    )
    response = client.post(f"/api/help-requests/{request_id}/resolve", json={"answer": "Yes", "knowledge_id": 999})
    assert response.status_code == 404
    assert client.get(f"/api/help-requests/{request_id}").json()["status"] == "pending"


def test_resolving_twice_is_409(client):
    request_id = request_for(
        client, client.post("/api/ask", json={"question": "Do you do henna tattoos?"}).json()["reference"]
    )
    assert client.post(f"/api/help-requests/{request_id}/resolve", json={"answer": "No."}).status_code == 200
    second = client.post(f"/api/help-requests/{request_id}/resolve", json={"answer": "Yes!"})
    assert second.status_code == 409 and "already resolved" in second.json()["detail"]
    assert client.get(f"/api/help-requests/{request_id}").json()["answer"] == "No."


def test_empty_answer_is_422_and_request_stays_pending(client):
    request_id = request_for(
        client, client.post("/api/ask", json={"question": "Do you do henna tattoos?"}).json()["reference"]
    )
    for body in ({"answer": ""}, {"answer": "   "}, {}, {"answer": "ok", "question": ""}):
        response = client.post(f"/api/help-requests/{request_id}/resolve", json=body)
        assert response.status_code == 422, body
    assert client.get(f"/api/help-requests/{request_id}").json()["status"] == "pending"


def test_bad_knowledge_bodies_are_422(client):
    assert client.post("/api/knowledge", json={"answer": "x", "questions": []}).status_code == 422
    assert client.post("/api/knowledge", json={"answer": "", "questions": ["q"]}).status_code == 422
    assert client.post("/api/knowledge", json={"answer": "x", "questions": [""]}).status_code == 422
    assert client.patch("/api/knowledge/1", json={"questions": []}).status_code == 422
    assert client.get("/api/help-requests", params={"status": "lost"}).status_code == 422
    assert client.get("/api/help-requests", params={"limit": 0}).status_code == 422
    assert client.get("/api/help-requests", params={"limit": 100000}).status_code == 422


@pytest.mark.parametrize(
    "method,path",
    [
        ("get", "/api/help-requests"),
        ("get", "/api/help-requests/1"),
        ("post", "/api/help-requests/1/resolve"),
        ("get", "/api/knowledge"),
        ("post", "/api/knowledge"),
        ("get", "/api/knowledge/1"),
        ("patch", "/api/knowledge/1"),
        ("delete", "/api/knowledge/1"),
        ("get", "/api/stats"),
    ],
)
def test_supervisor_routes_need_the_token(client, method, path):
    for headers in (
        {"Authorization": ""},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
    ):
        response = client.request(method, path, headers=headers, json={"answer": "x"})
        assert response.status_code == 401, (path, headers)
        assert "token" in response.json()["detail"]


def test_caller_routes_need_no_token(client):
    assert client.post("/api/ask", json={"question": "hours?"}, headers={"Authorization": ""}).status_code == 200
    assert client.get("/healthz", headers={"Authorization": ""}).status_code == 200


def test_caller_text_is_stored_verbatim_as_data(client):
    hostile = "<img src=x onerror=alert(1)>'; DROP TABLE help_requests; -- (.*+?"
    body = client.post("/api/ask", json={"question": hostile}).json()
    assert body["outcome"] == "escalated"
    assert client.get(f"/api/help-requests/{request_for(client, body['reference'])}").json()["question"] == hostile
    assert client.get("/api/help-requests").json()["total"] == 1

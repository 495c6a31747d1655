"""The fast path for POST /api/ask answers byte for byte as the FastAPI route does, and hands over what it is not
sure of (kb_service/routes/ask.py)."""

from __future__ import annotations

import json

from kb_service.routes.ask import AskFastPath

JSON = {"content-type": "application/json"}
ASKED = json.dumps({"question": "what are your opening hours"}).encode()

# (what, body bytes, headers): sent in this order to both apps, so ids and replays line up.
REQUESTS = [
    ("plain ask", ASKED, JSON),
    ("charset in the content type", json.dumps({"question": "do you do balayage"}).encode(),
     {"content-type": "Application/JSON; charset=utf-8"}),
    ("no content type", json.dumps({"question": "is there parking"}).encode(), {}),
    ("a +json content type", json.dumps({"question": "can I bring my dog"}).encode(),
     {"content-type": "application/merge-patch+json"}),
    ("text/plain", ASKED, {"content-type": "text/plain"}),
    ("caller and session", json.dumps({"question": "how much is a haircut", "session_id": "call-7",
                                       "caller": {"name": "Ann", "phone": "+1 555 010 0100"}}).encode(), JSON),
    ("unicode", json.dumps({"question": "¿abren los domingos? 日曜日"}, ensure_ascii=False).encode(), JSON),
    ("idempotency key", ASKED, {**JSON, "idempotency-key": "k-1"}),
    ("replayed key", ASKED, {**JSON, "idempotency-key": "k-1"}),
    ("key reused with another body", json.dumps({"question": "something else"}).encode(),
     {**JSON, "idempotency-key": "k-1"}),
    ("empty key", ASKED, {**JSON, "idempotency-key": ""}),
    ("key too long", ASKED, {**JSON, "idempotency-key": "k" * 256}),
    ("not JSON", b"{not json", JSON),
    ("empty body", b"", JSON),
    ("JSON but not an object", b'["question"]', JSON),
    ("missing question", b"{}", JSON),
    ("blank question", json.dumps({"question": "   "}).encode(), JSON),
    ("question too long", json.dumps({"question": "a" * 1001}).encode(), JSON),
    ("unknown field", json.dumps({"question": "hours?", "extra": 1}).encode(), JSON),
    ("wrong type", json.dumps({"question": 42}).encode(), JSON),
]


def fast_path(app) -> AskFastPath:
    layer = app.middleware_stack
    while not isinstance(layer, AskFastPath):
        layer = layer.app
    return layer


def test_fast_path_answers_exactly_as_the_route(make_client, tmp_path):
    fast = make_client(data_dir=tmp_path / "fast")
    route = make_client(data_dir=tmp_path / "route")
    route.app.user_middleware = [m for m in route.app.user_middleware if m.cls is not AskFastPath]
    route.app.middleware_stack = route.app.build_middleware_stack()

    for what, body, headers in REQUESTS:
        got, expected = (c.post("/api/ask", content=body, headers=headers) for c in (fast, route))
        assert got.status_code == expected.status_code, what
        assert got.headers["content-type"] == expected.headers["content-type"], what
        assert got.json() == expected.json(), what

    # It really served the well-formed ones itself (four without a key, three with a valid one) and left the
    # rest to the route; both recorded the same requests.
    assert fast_path(fast.app).served == 7

    def recorded(client):
        return [(r["id"], r["question"], r["status"]) for r in client.get("/api/help-requests").json()["items"]]

    assert recorded(fast) == recorded(route) and len(recorded(fast)) >= 3

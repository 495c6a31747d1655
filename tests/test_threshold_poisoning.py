"""Threshold poisoning (the abuse issue): one client's flood of asks and of yeses to checks, anonymous or in one
call session, moves neither the answering threshold nor the check band (over HTTP)."""

from __future__ import annotations

from tests.support import wait_for

CHECKED = "what are your hours"  # lands in the demo's check band (asserted below)


def _thresholds(client) -> tuple[float, float]:
    quality = client.get("/api/quality").json()
    return quality["threshold"], quality["confirm_threshold"]


def _flood(client, asks: int, session: dict | None = None) -> int:
    """Ask the check-band question `asks` times and say yes to every check; how many checks were answered."""
    extra = {"session_id": session["session_id"]} if session else {}
    headers = {"X-Session-Token": session["session_token"]} if session else {}
    yeses = 0
    for _ in range(asks):
        reply = client.post("/api/ask", json={"question": CHECKED, **extra}, headers=headers).json()
        assert reply["outcome"] in ("confirm", "answered"), reply
        if reply["outcome"] == "confirm":
            client.post(f"/api/confirmations/{reply['confirmation_id']}", json={"confirmed": True}, headers=headers)
            yeses += 1
        client.post("/api/ask", json={"question": "How much is a haircut?", **extra}, headers=headers)
    return yeses


def test_a_flood_of_asks_and_yeses_from_one_client_leaves_the_thresholds_unmoved(make_client):
    client = make_client(KB_ASK_RATE_LIMIT_PER_MINUTE=0)  # no rate limit: the flood arrives in full
    wait_for(lambda: client.get("/api/stats").json()["calibration"], timeout=60, what="a calibration at start")
    before = _thresholds(client)
    assert before[1] <= client.post("/api/ask", json={"question": CHECKED}).json()["confidence"] < before[0]

    anonymous = _flood(client, 60)
    session = client.post("/api/sessions").json()
    in_one_call = _flood(client, 60, session)
    assert anonymous == 60 and in_one_call == 60  # every check was said yes to

    # Each answered check refreshed the thresholds (as the sweeper does): the last one saw the whole flood.
    assert _thresholds(client) == before
    bands = client.get("/api/quality").json()["bands"]
    assert sum(band["labels"] for band in bands) == 1  # one call's yeses to one entry count once; anonymous: none

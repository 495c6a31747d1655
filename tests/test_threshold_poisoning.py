"""Threshold poisoning (the abuse issue): one client's flood of asks and of yeses to checks, anonymous, in one call
session or in many, moves neither the answering threshold nor the check band (over HTTP)."""

from __future__ import annotations

import httpx

from kb_service.api.app import create_app
from kb_service.cli import server_options
from tests.support import AUTH, BOTH_BACKENDS, LiveServer, make_settings, wait_for

CHECKED = "do you take apple pay"  # lands in the demo's check band (asserted below)


def _thresholds(quality: httpx.Response) -> tuple[float, float]:
    return quality.json()["threshold"], quality.json()["confirm_threshold"]


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
    before = _thresholds(client.get("/api/quality"))
    assert before[1] <= client.post("/api/ask", json={"question": CHECKED}).json()["confidence"] < before[0]

    anonymous = _flood(client, 60)
    session = client.post("/api/sessions").json()
    in_one_call = _flood(client, 60, session)
    assert anonymous == 60 and in_one_call == 60  # every check was said yes to

    # Each answered check refreshed the thresholds (as the sweeper does): the last one saw the whole flood.
    assert _thresholds(client.get("/api/quality")) == before
    bands = client.get("/api/quality").json()["bands"]
    assert sum(band["labels"] for band in bands) == 1  # one call's yeses to one entry count once; anonymous: none


def behind_a_proxy(embedder, data_dir, database_url) -> LiveServer:
    """The app with the uvicorn options of `frontdesk serve`, believing X-Forwarded-For from 127.0.0.1 (as
    KB_TRUSTED_PROXIES says), so one test client can be many addresses."""
    overrides = {"KB_DATABASE_URL": database_url} if database_url else {}
    settings = make_settings(data_dir, KB_TRUSTED_PROXIES="127.0.0.1", KB_ASK_RATE_LIMIT_PER_MINUTE=0, **overrides)
    return LiveServer(create_app(settings, embedder), **server_options(settings))


@BOTH_BACKENDS
def test_one_client_opening_many_sessions_labels_an_entry_once(embedder, data_dir, database_url):
    """Sessions opened from one address, or from one IPv6 /64, each saying yes to the same check, make one label;
    another address makes another."""
    with (
        behind_a_proxy(embedder, data_dir, database_url) as server,
        httpx.Client(base_url=server.url, timeout=30) as web,
    ):
        wait_for(lambda: web.get("/api/stats", headers=AUTH).json()["calibration"], timeout=60, what="a calibration")

        def labels() -> int:
            return sum(band["labels"] for band in web.get("/api/quality", headers=AUTH).json()["bands"])

        def yes_in_new_sessions(addresses: list[str]) -> None:
            for address in addresses:
                forwarded = {"X-Forwarded-For": address}
                session = web.post("/api/sessions", headers=forwarded).json()
                mine = {**forwarded, "X-Session-Token": session["session_token"]}
                reply = web.post(
                    "/api/ask", json={"question": CHECKED, "session_id": session["session_id"]}, headers=mine
                )
                assert reply.json()["outcome"] == "confirm", reply.json()
                answered = web.post(
                    f"/api/confirmations/{reply.json()['confirmation_id']}", json={"confirmed": True}, headers=mine
                )
                assert answered.json()["outcome"] == "answered"

        assert labels() == 0
        yes_in_new_sessions(["203.0.113.7"] * 8)
        assert labels() == 1
        yes_in_new_sessions(["2001:db8:0:1::1", "2001:db8:0:1::2", "2001:db8:0:1:ffff::3"])
        assert labels() == 2
        yes_in_new_sessions(["198.51.100.20"])
        assert labels() == 3


def test_one_client_asking_in_many_sessions_does_not_make_the_check_bands_window(embedder, data_dir):
    """60 asks in the check band from 12 sessions of one address would be a full window (50 asks) of questions all
    in the band, which narrows it; counted 5 per address, they are too few to move it."""
    with (
        behind_a_proxy(embedder, data_dir, None) as server,
        httpx.Client(base_url=server.url, timeout=30) as web,
    ):
        wait_for(lambda: web.get("/api/stats", headers=AUTH).json()["calibration"], timeout=60, what="a calibration")
        before = _thresholds(web.get("/api/quality", headers=AUTH))
        forwarded = {"X-Forwarded-For": "203.0.113.50"}
        for _ in range(12):
            session = web.post("/api/sessions", headers=forwarded).json()
            mine = {**forwarded, "X-Session-Token": session["session_token"]}
            for _ in range(5):
                reply = web.post(
                    "/api/ask", json={"question": CHECKED, "session_id": session["session_id"]}, headers=mine
                )
            # A yes refreshes the thresholds (as the sweeper does), over the traffic so far.
            web.post(f"/api/confirmations/{reply.json()['confirmation_id']}", json={"confirmed": True}, headers=mine)
        assert _thresholds(web.get("/api/quality", headers=AUTH)) == before

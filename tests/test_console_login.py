"""Console sign-in throttling (kb_service/api/login_throttle.py) on the real app, over real HTTP.

Gradio's own login route checks the password; the throttle in front of it makes guessing slow: after three
failures from one address each attempt waits 1, 2, 4, … s, ten lock it out for 15 minutes."""

from __future__ import annotations

import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from playwright.sync_api import expect

from kb_service.api.app import create_app
from kb_service.api.login_throttle import LoginThrottle
from tests.browser_support import sign_in
from tests.support import TOKEN, LiveServer, make_settings, wait_for

WRONG = "wrong-password-do-not-log-me"


class Clock:
    """Monotonic seconds that move only when the test says so: 2, 4, … 64 s and a 15-minute lockout, in no time."""

    def __init__(self):
        self.now = 1000.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def throttled_server(embedder, data_dir, **throttle):
    """The app as served, its sign-in throttle swapped for one on the test's clock."""
    app = create_app(make_settings(data_dir), embedder)
    assert any(m.cls is LoginThrottle for m in app.user_middleware)  # the service has one of its own
    app.user_middleware = [m for m in app.user_middleware if m.cls is not LoginThrottle]
    app.add_middleware(LoginThrottle, path="/supervisor", **throttle)
    return LiveServer(app)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server(embedder, data_dir, clock):
    with throttled_server(embedder, data_dir, clock=clock) as server:
        yield server


def login(server, password: str, path: str = "/supervisor/login") -> httpx.Response:
    return httpx.post(f"{server.url}{path}", data={"username": "supervisor", "password": password})


def assert_refused(response: httpx.Response, retry_after: int) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["retry-after"] == str(retry_after)
    assert "set-cookie" not in response.headers  # no session, whatever the password


def test_failures_wait_1_2_4_s_then_lock_out_for_15_minutes(server, clock, caplog):
    caplog.set_level(logging.WARNING, logger="frontdesk.security")
    for _ in range(3):
        assert login(server, WRONG).status_code == 400
    assert_refused(login(server, WRONG), 1)
    # The right password is not even checked while the address must wait.
    assert_refused(login(server, TOKEN), 1)
    assert_refused(login(server, TOKEN, "/supervisor/login/"), 1)

    for failure, wait in zip(range(4, 10), (1, 2, 4, 8, 16, 32)):
        clock.advance(wait - 0.01)
        assert_refused(login(server, WRONG), 1)
        clock.advance(0.01)
        assert login(server, WRONG).status_code == 400, f"failure {failure}"
        assert_refused(login(server, WRONG), 2 * wait)

    clock.advance(64)
    assert login(server, WRONG).status_code == 400  # the tenth: locked out
    assert_refused(login(server, TOKEN), 900)
    clock.advance(899.5)
    assert_refused(login(server, TOKEN), 1)

    # Each failure that reached the password check is logged with the address, never with the password.
    failures = [r for r in caplog.records if r.name == "frontdesk.security" and "sign-in failed" in r.getMessage()]
    assert len(failures) == 10
    assert all("127.0.0.1" in r.getMessage() and r.client_ip == "127.0.0.1" for r in failures)
    assert [r.failures for r in failures] == list(range(1, 11))
    assert any("locked" in r.getMessage() for r in caplog.records if r.name == "frontdesk.security")
    assert not [r for r in caplog.records if WRONG in r.getMessage() or WRONG in str(vars(r))]
    assert not [r for r in caplog.records if TOKEN in r.getMessage() or TOKEN in str(vars(r))]

    # After the lockout one more failure locks again; the right password gets in and forgets every failure.
    clock.advance(0.5)
    assert login(server, WRONG).status_code == 400
    assert_refused(login(server, TOKEN), 900)
    clock.advance(900)
    signed_in = login(server, TOKEN)
    assert signed_in.status_code == 200 and "access-token" in signed_in.headers["set-cookie"]
    for _ in range(3):
        assert login(server, WRONG).status_code == 400
    assert_refused(login(server, WRONG), 1)


def test_a_parallel_burst_of_guesses_gets_three_checked(server):
    """The finding: 100 wrong sign-ins in 2.9 s, none throttled. Now, parallel or not, only three are checked."""
    with httpx.Client() as client, ThreadPoolExecutor(16) as pool:
        statuses = list(
            pool.map(
                lambda _: client.post(
                    f"{server.url}/supervisor/login", data={"username": "supervisor", "password": WRONG}
                ).status_code,
                range(100),
            )
        )
    assert statuses.count(400) == 3 and statuses.count(429) == 97


def test_the_first_wait_is_a_real_second(embedder, data_dir):
    with throttled_server(embedder, data_dir) as server:
        for _ in range(3):
            assert login(server, WRONG).status_code == 400
        assert_refused(login(server, WRONG), 1)
        checked = wait_for(lambda: (r := login(server, WRONG)).status_code != 429 and r, timeout=5, interval=0.1)
        assert checked.status_code == 400
        assert_refused(login(server, WRONG), 2)


def lock_out(server, clock: Clock) -> None:
    for wait in (0, 0, 0, 1, 2, 4, 8, 16, 32, 64):
        clock.advance(wait)
        assert login(server, WRONG).status_code == 400
    assert_refused(login(server, TOKEN), 900)


def test_another_address_other_routes_and_the_sign_in_page_are_not_throttled(server, clock):
    lock_out(server, clock)
    assert httpx.get(f"{server.url}/supervisor/").status_code == 200  # the sign-in page itself
    assert httpx.post(f"{server.url}/api/ask", json={"question": "what time do you open?"}).status_code == 200
    # Another address on the loopback network is another client, with its own count.
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2")) as neighbour:
        signed_in = neighbour.post(f"{server.url}/supervisor/login", data={"username": "supervisor", "password": TOKEN})
        assert signed_in.status_code == 200
    assert_refused(login(server, TOKEN), 900)


def test_the_sign_in_form_posts_to_the_throttled_route(browser, embedder, data_dir, clock):
    """What the real Gradio sign-in form posts is what the throttle counts."""
    with throttled_server(embedder, data_dir, clock=clock) as server:
        context = browser.new_context()
        page = context.new_page()
        try:

            def is_login(response) -> bool:
                return response.request.method == "POST" and response.url.startswith(f"{server.url}/supervisor/login")

            def form_post(password: str = WRONG) -> int:
                with page.expect_response(is_login) as posted:
                    sign_in(page, f"{server.url}/supervisor/", password=password)
                return posted.value.status

            assert [form_post() for _ in range(4)] == [400, 400, 400, 429]
            expect(page.locator("#console-header")).to_have_count(0)

            clock.advance(1)
            assert form_post(TOKEN) == 200
            expect(page.locator("#console-header")).to_contain_text(re.compile("pending"), timeout=20_000)
        finally:
            context.close()


def test_the_client_is_whoever_client_ip_says_and_an_ipv6_slash_64_is_one(embedder, data_dir, clock):
    """With trusted proxies the client's address comes from a header (`client_ip`); a /64 counts as one client."""

    def forwarded_for(scope) -> str:
        return dict(scope["headers"]).get(b"x-forwarded-for", b"").decode()

    with throttled_server(embedder, data_dir, clock=clock, client_ip=forwarded_for) as server:

        def login_from(ip: str, password: str = WRONG) -> httpx.Response:
            data = {"username": "supervisor", "password": password}
            return httpx.post(f"{server.url}/supervisor/login", data=data, headers={"X-Forwarded-For": ip})

        for host in ("2001:db8::1", "2001:db8::2", "2001:db8::ffff:3"):
            assert login_from(host).status_code == 400
        assert_refused(login_from("2001:db8::4", TOKEN), 1)
        assert login_from("2001:db8:0:1::1", TOKEN).status_code == 200  # the next /64
        assert login_from("192.0.2.7", TOKEN).status_code == 200

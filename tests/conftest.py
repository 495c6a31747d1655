from __future__ import annotations

import gc
import os

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect

from kb_service.api.app import create_app
from kb_service.embedding import Embedder
from kb_service.embedding.onnx_backend import OnnxEmbedder
from tests.browser_support import CHROMIUM, CHROMIUM_ARGS, browser_page, launch_chromium, open_console
from tests.support import AUTH, LiveServer, Receiver, make_settings

# Every service the tests start, in this process or as a `kb_service serve` child, answers with the scorer as
# shipped unless a test turns tuning on (tests/test_tune.py): a background tune seconds in would change the
# answers a test asserts on.
os.environ.setdefault("KB_TUNE_EVERY", "0")


def pytest_collection(session: pytest.Session) -> None:
    """No garbage collection while modules are imported and assertion-rewritten: on CPython 3.11.7 a finalizer
    that imports a module in the middle of `ast.parse` fails the outer parse ("AST constructor recursion depth
    mismatch", fixed in 3.11.8), which made collecting tests/test_fuzz.py fail depending on what came before."""
    gc.disable()


def pytest_collection_finish(session: pytest.Session) -> None:
    gc.enable()


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real model on the default backend (onnx), loaded once for the whole run."""
    return OnnxEmbedder()


@pytest.fixture(scope="session")
def browser():
    """One headless Debian chromium for every browser test (Playwright's sync API allows one driver per thread)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture(scope="session")
def postgres():
    """One throwaway PostgreSQL cluster for the run, started the first time a test needs it."""
    from tests.postgres_support import PostgresCluster

    cluster = PostgresCluster().start()
    yield cluster
    cluster.destroy()


@pytest.fixture
def backend(request) -> str:
    """The storage backend: SQLite unless a module parametrizes it (`BOTH_BACKENDS`)."""
    return getattr(request, "param", "sqlite")


@pytest.fixture
def database_url(backend, request) -> str | None:
    """A fresh, migrated PostgreSQL database for this test, or None for SQLite."""
    if backend == "sqlite":
        return None
    from kb_service.storage.postgres import PostgresStore

    url = request.getfixturevalue("postgres").fresh_database()
    PostgresStore(url, migrate=True).close()
    return url


@pytest.fixture
def make_client(embedder, data_dir, database_url):
    """Build a TestClient over a fresh app; call again with the same data dir to simulate a restart.

    `shared_model=False` lets the app build its own embedder from the settings, as the real service does."""
    opened = []

    def _make(auth: bool = True, shared_model: bool = True, **overrides) -> TestClient:
        if database_url:
            overrides.setdefault("KB_DATABASE_URL", database_url)
        settings = make_settings(overrides.pop("data_dir", data_dir), **overrides)
        app = create_app(settings, embedder if shared_model else None)
        client = TestClient(app, headers=AUTH if auth else None)
        client.__enter__()
        opened.append(client)
        return client

    yield _make
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client) -> TestClient:
    return make_client()


@pytest.fixture
def serve(embedder, data_dir, database_url):
    """serve(**settings) -> the real app on a free port over this test's data dir; every one stopped after the test.

    Fixtures that open pages depend on `server`, so the browser leaves before the server stops."""
    started: list[LiveServer] = []

    def _serve(**overrides) -> LiveServer:
        if database_url:
            overrides.setdefault("KB_DATABASE_URL", database_url)
        started.append(LiveServer(create_app(make_settings(data_dir, **overrides), embedder)).__enter__())
        return started[-1]

    yield _serve
    for server in reversed(started):
        server.__exit__(None, None, None)


@pytest.fixture
def server(serve) -> LiveServer:
    """The served app with the default settings; a module that needs others overrides it with `serve(KB_...=...)`."""
    return serve()


@pytest.fixture
def receiver():
    """A local webhook receiver (the outside world) that records every POST."""
    with Receiver() as receiver:
        yield receiver


@pytest.fixture
def dialogs() -> list[str]:
    """The messages of every dialog the test's pages opened."""
    return []


@pytest.fixture
def page(browser, server, dialogs):
    """A fresh page recording dialogs; it depends on `server`, so it closes before the server stops."""
    with browser_page(browser, dialogs) as page:
        yield page


@pytest.fixture
def console(page, server):
    """The supervisor console, signed in."""
    return open_console(page, server.url)


@pytest.fixture
def microphone(browser, tmp_path):
    """open(wav, init_script) -> a call page in a Chromium whose microphone plays `wav` once."""
    launched = []

    def _open(wav, url: str, init_script: str | None = None, allowed: bool = True) -> Page:
        fake_mic = browser.browser_type.launch(
            executable_path=str(CHROMIUM),
            args=[
                *CHROMIUM_ARGS,
                *(["--use-fake-ui-for-media-stream"] if allowed else []),  # the permission prompt says yes
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={wav}%noloop",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        launched.append(fake_mic)
        page = fake_mic.new_page()
        page.errors = []
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        if init_script:
            page.add_init_script(init_script)
        page.goto(url + "/")
        expect(page.get_by_test_id("transcript")).to_contain_text("how can I help?")
        return page

    yield _open
    for fake_mic in launched:
        fake_mic.close()

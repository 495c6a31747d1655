"""Browser helpers: Debian chromium through Playwright (fails, never skips, when missing), pages that record
dialogs, and console sign-in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, Playwright, expect

from tests.support import TOKEN

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch_chromium(playwright: Playwright) -> Browser:
    """Fails (never skips) when the browser is missing: `scripts/install-browser` puts it there."""
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: run scripts/install-browser (make test does)"
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


@contextmanager
def browser_page(browser: Browser, dialogs: list[str]) -> Iterator[Page]:
    """A page in a fresh browser context that records any dialog (an `alert` would mean caller text ran as code)."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        yield page
    finally:
        context.close()


def sign_in(page: Page, url: str, password: str = TOKEN, user: str = "supervisor") -> None:
    page.goto(url)
    page.get_by_label("username").fill(user)
    page.get_by_label("password").fill(password)
    page.get_by_role("button", name="Login").click()


def open_console(page: Page, base_url: str, password: str = TOKEN, user: str = "supervisor") -> Page:
    sign_in(page, f"{base_url}/supervisor/", password, user)
    expect(page.locator("#console-header")).to_contain_text("pending", timeout=20_000)
    return page


def pending_table(page: Page):
    return page.locator("#pending-table")


def choose_request(page: Page, help_request_id: int) -> None:
    """Pick a request in the 'Request to answer' dropdown, as a supervisor would."""
    page.locator("#pending-select input").click()
    page.get_by_role("option", name=re.compile(rf"^#{help_request_id} ·")).click()
    expect(page.locator("#answer-caller-question textarea, #answer-caller-question input").first).not_to_have_value(
        "", timeout=10_000
    )

"""`frontdesk serve` as people run it: the start-up summary prints the supervisor token (a kept one only on a
terminal: here, where it lives), and an
open console keeps the log quiet (no line per API call, no 404 for a favicon)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.browser_support import open_console
from tests.support import free_port, wait_for

pytestmark = pytest.mark.slow

QUIET_SECONDS = 20
MOST_LINES = 15  # in QUIET_SECONDS with a console open


class Served:
    """`python -m kb_service serve` in a process of its own, its stdout and stderr in files."""

    def __init__(self, data_dir: Path, logs: Path, *options: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
        env.update({"KB_DATA_DIR": str(data_dir), "KB_SWEEP_INTERVAL_SECONDS": "0.5"})
        self.out, self.err = logs.with_suffix(".out"), logs.with_suffix(".err")
        with self.out.open("w") as out, self.err.open("w") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "kb_service", "serve", "--port", str(self.port), *options],
                env=env,
                stdout=out,
                stderr=err,
            )
        wait_for(self._up, timeout=120, interval=0.5, what="the service to start")

    def _up(self) -> bool:
        assert self.process.poll() is None, self.err.read_text()
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def log_lines(self) -> list[str]:
        return self.err.read_text().splitlines()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def token_line(served: Served) -> str:
    return next(line for line in served.out.read_text().splitlines() if line.startswith("Supervisor token:"))


def test_the_token_is_printed_on_every_start_and_an_open_console_is_quiet(browser, tmp_path, dialogs):
    data_dir = tmp_path / "data"
    first = Served(data_dir, tmp_path / "first", "--access-log")
    try:
        token = (data_dir / "supervisor_token").read_text().strip()
        assert token in token_line(first) and "generated now" in token_line(first)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        open_console(context.new_page(), first.url, password=token)
        context.close()
        refused = [line for line in first.log_lines() if '" 404' in line]  # a favicon, say
        assert refused == []
    finally:
        first.stop()

    served = Served(data_dir, tmp_path / "second")  # not the first start, and not a terminal: where the token is
    try:
        assert token not in token_line(served) and "supervisor_token (not shown" in token_line(served)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        try:
            page = context.new_page()
            open_console(page, served.url, password=token)
            before = len(served.log_lines())
            time.sleep(QUIET_SECONDS)  # measuring a span of time: nothing to poll for
            logged = served.log_lines()[before:]
            assert len(logged) < MOST_LINES, "\n".join(logged)
            assert not any("httpx" in line for line in logged)
        finally:
            context.close()
    finally:
        served.stop()

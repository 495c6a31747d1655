"""Secrets and callers' data: no weak supervisor token, a private data directory, retention, safe CSV exports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kb_service.api.auth import MIN_TOKEN_CHARS, WeakToken, load_or_create_token
from tests.support import free_port, make_settings

ROOT = Path(__file__).resolve().parents[1]


def new_user_env(data_dir: Path, **env: str) -> dict[str, str]:
    """A new user's environment: none of this machine's KB_* settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    return {**clean, "KB_DATA_DIR": str(data_dir), **env}


# ---- the supervisor token


@pytest.mark.parametrize("where", ["setting", "file"])
def test_serve_refuses_a_short_supervisor_token_in_one_line(tmp_path, where):
    data_dir = tmp_path / "data"
    if where == "setting":
        env = new_user_env(data_dir, KB_SUPERVISOR_TOKEN="a")
        expected = "Error: KB_SUPERVISOR_TOKEN is too short: 1 characters, at least 24 needed (unset it to have one"
    else:
        data_dir.mkdir()
        (data_dir / "supervisor_token").write_text("short-token\n")
        env = new_user_env(data_dir)
        expected = (
            f"Error: the supervisor token in {data_dir / 'supervisor_token'} is too short: 11 characters,"
            " at least 24 needed (delete the file to have one"
        )
    done = subprocess.run(
        [sys.executable, "-m", "kb_service", "serve", "--port", str(free_port())],
        cwd=tmp_path,  # no .env of the repository
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [expected + " generated at start)"]
    assert "Traceback" not in done.stdout + done.stderr


def test_the_shortest_token_allowed_is_24_characters(tmp_path):
    with pytest.raises(WeakToken, match="KB_SUPERVISOR_TOKEN is too short: 23 characters"):
        load_or_create_token(make_settings(tmp_path, KB_SUPERVISOR_TOKEN="x" * (MIN_TOKEN_CHARS - 1)))
    assert load_or_create_token(make_settings(tmp_path, KB_SUPERVISOR_TOKEN="x" * MIN_TOKEN_CHARS)) == ("x" * 24, False)
    generated, now = load_or_create_token(make_settings(tmp_path, KB_SUPERVISOR_TOKEN=""))
    assert now and len(generated) >= MIN_TOKEN_CHARS

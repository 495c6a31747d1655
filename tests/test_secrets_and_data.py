"""Secrets and callers' data: no weak supervisor token, a private data directory, retention, safe CSV exports."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from kb_service.api.auth import MIN_TOKEN_CHARS, WeakToken, load_or_create_token
from kb_service.storage.store import Store
from tests.support import free_port, make_settings, wait_for


def new_user_env(data_dir: Path, **env: str) -> dict[str, str]:
    """A new user's environment: none of this machine's KB_* settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    return {**clean, "KB_DATA_DIR": str(data_dir), **env}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


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


# ---- data at rest


def test_a_fresh_data_dir_is_private_under_umask_022(tmp_path):
    """`frontdesk serve` in a new data directory: it 0700, the database, its -wal and -shm, token and index 0600."""
    data_dir = tmp_path / "data"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(tmp_path / "serve.log", "wb") as log:
        proc = subprocess.Popen(
            ["sh", "-c", 'umask 022 && exec "$0" -m kb_service serve --port "$1"', sys.executable, str(port)],
            cwd=tmp_path,
            env=new_user_env(data_dir, KB_SWEEP_INTERVAL_SECONDS="0.05"),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:

        def healthy() -> bool:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
            try:
                return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, timeout=180, interval=0.2, what="the service to start")
        token = (data_dir / "supervisor_token").read_text().strip()
        asked = httpx.post(f"{url}/api/ask", json={"question": "can I bring my dog?", "caller": {"name": "Ana"}})
        assert asked.status_code == 200
        assert httpx.get(f"{url}/api/help-requests", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        wait_for(lambda: (data_dir / "index.json").exists(), what="the index to be saved")
        wanted = {
            "frontdesk.db",
            "frontdesk.db-wal",
            "frontdesk.db-shm",
            "supervisor_token",
            "index.faiss",
            "index.json",
        }
        assert wanted <= {p.name for p in data_dir.iterdir()}
        assert mode(data_dir) == 0o700
        assert {p.name: oct(mode(p)) for p in data_dir.iterdir()} == dict.fromkeys(
            [p.name for p in data_dir.iterdir()], oct(0o600)
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert mode(data_dir) == 0o700
    assert all(mode(p) == 0o600 for p in data_dir.iterdir()), {p.name: oct(mode(p)) for p in data_dir.iterdir()}


def test_an_existing_open_data_dir_is_made_private(tmp_path):
    """An install from before: data/ 0755, frontdesk.db and a leftover -wal 0644. The next start tightens them."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    data_dir.chmod(0o755)
    db = data_dir / "frontdesk.db"
    wal = Path(f"{db}-wal")
    for path in (db, wal):
        path.touch()
        path.chmod(0o644)
    old = os.umask(0o022)
    try:
        store = Store(db)
    finally:
        os.umask(old)
    try:
        assert mode(data_dir) == 0o700
        assert {p.name: oct(mode(p)) for p in data_dir.iterdir()} == {
            "frontdesk.db": "0o600",
            "frontdesk.db-wal": "0o600",
            "frontdesk.db-shm": "0o600",
        }
    finally:
        store.close()

"""Secrets and callers' data: no weak supervisor token, a private data directory, retention, safe CSV exports."""

from __future__ import annotations

import csv
import json
import os
import signal
import stat
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from kb_service.auth import MIN_TOKEN_CHARS, WeakToken, load_or_create_token
from kb_service.cli import main
from kb_service.desk import outbox, retention
from kb_service.storage.sqlite import SqliteStore
from kb_service.storage.store import Store, iso, iso_in
from tests.support import AUTH, free_port, make_settings, request_for, wait_for


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
        store = SqliteStore(db)
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


# ---- retention (KB_RETENTION_DAYS)

OLD_DAYS = 100  # the first round of calls is moved this far back, past the 90 days kept


def snapshot(store: Store) -> dict[str, dict[int, dict]]:
    """Every row of every table, by rowid."""
    tables = [r["name"] for r in store.query("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {
        table: {row["_rowid"]: dict(row) for row in store.query(f"SELECT rowid AS _rowid, * FROM {table}")}
        for table in tables
        if not table.startswith("sqlite_")
    }


def a_round_of_calls(client, questions: dict[str, str], callers: list[dict]) -> None:
    """What callers and the supervisor leave in the database: a session, an escalation two callers share and the
    supervisor answers, one still pending, two auto-answers (two audits: one reviewed), two confirmations."""
    session = client.post("/api/sessions").json()
    mine = {"X-Session-Token": session["session_token"]}
    first = client.post(
        "/api/ask",
        json={"question": questions["escalate"], "caller": callers[0], "session_id": session["session_id"]},
        headers={**mine, "Idempotency-Key": f"ask-{session['session_id']}"},
    ).json()
    assert first["outcome"] == "escalated", first
    joined = client.post("/api/ask", json={"question": questions["escalate"], "caller": callers[1]}).json()
    assert joined["outcome"] == "escalated", joined
    pending = client.post("/api/ask", json={"question": questions["pending"], "caller": callers[2]}).json()
    assert pending["outcome"] == "escalated", pending
    for _ in range(2):
        assert client.post("/api/ask", json={"question": questions["known"]}).json()["outcome"] == "answered"
    resolved = client.post(
        f"/api/help-requests/{request_for(client, first['reference'])}/resolve",
        json={"answer": questions["answer"]},
        headers={"Idempotency-Key": f"resolve-{session['session_id']}"},
    )
    assert resolved.status_code == 200, resolved.text
    audit = client.get("/api/audits").json()["items"][-1]
    assert client.post(f"/api/audits/{audit['id']}", json={"correct": True}).status_code == 200
    runtime = client.app.state.runtime
    with runtime.store.write() as tx:
        for status in ("declined", "open"):
            tx.execute(
                "INSERT INTO confirmations (id, question, embedding, knowledge_id, score, confidence, caller_name,"
                " caller_phone, status, created_at, expires_at) VALUES (?, ?, x'00000000', 1, 0.9, 0.9, ?, ?, ?, ?, ?)",
                (
                    f"{status}-{session['session_id']}",
                    questions["known"],
                    callers[0]["name"],
                    callers[0]["phone"],
                    status,
                    iso_in(0),
                    iso_in(300),
                ),
            )
    wait_for(
        lambda: runtime.store.scalar("SELECT COUNT(*) FROM outbox WHERE status = 'pending'") == 0,
        what="the console notifications to be delivered",
    )


def move_back(store: Store, rows: dict[str, set[int]], days: int, key: str = "rowid") -> None:
    """Every timestamp of these rows (by `key`: rowid, or id on either backend) `days` earlier, written through
    the store as the service writes them."""
    with store.write() as tx:
        for table, keys in rows.items():
            for value in keys:
                row = tx.execute(f"SELECT * FROM {table} WHERE {key} = ?", (value,)).fetchone()
                columns = [c for c in row.keys() if c.endswith("_at")]
                moved = {c: iso(datetime.fromisoformat(row[c]) - timedelta(days=days)) for c in columns if row[c]}
                if moved:
                    sets = ", ".join(f"{c} = :{c}" for c in moved)
                    tx.execute(f"UPDATE {table} SET {sets} WHERE {key} = :key", {**moved, "key": value})


def test_forget_old_removes_exactly_the_callers_details_past_retention(embedder, data_dir):
    from fastapi.testclient import TestClient

    from kb_service.api.app import create_app

    # KB_RETENTION_DAYS=0 while the service runs: its own sweeps must not act before the test does.
    app = create_app(make_settings(data_dir, KB_RETENTION_DAYS=0, KB_ASK_RATE_LIMIT_PER_MINUTE=0), embedder)
    with TestClient(app, headers=AUTH) as client:
        a_round_of_calls(
            client,
            {
                "escalate": "can my parrot sit with me during the haircut?",
                "pending": "do you repair bicycles?",
                "known": "What are your opening hours?",
                "answer": "Yes, birds are welcome if they stay in a cage.",
            },
            [
                {"name": "Olga Old", "phone": "+1 555 000 1111"},
                {"name": "Otto Old", "phone": "+1 555 000 2222"},
                {"name": "Oona Old", "phone": "+1 555 000 3333"},
            ],
        )
        old = {table: set(rows) for table, rows in snapshot(client.app.state.runtime.store).items()}
        a_round_of_calls(
            client,
            {
                "escalate": "is there a piano I could play while I wait?",
                "pending": "do you sell fishing bait?",
                "known": "Where are you located?",
                "answer": "No piano, sorry, but we have magazines.",
            },
            [
                {"name": "Nina New", "phone": "+1 555 000 4444"},
                {"name": "Ned New", "phone": "+1 555 000 5555"},
                {"name": "Nora New", "phone": "+1 555 000 6666"},
            ],
        )
    store = SqliteStore(data_dir / "frontdesk.db")
    try:
        with store.write() as tx:  # a webhook still being retried is delivered whatever its age
            outbox.queue(tx, "help_request.created", outbox.WEBHOOK, {"question": "?"}, "http://127.0.0.1:9/hook")
            still_due = tx.execute("SELECT MAX(rowid) FROM outbox").fetchone()[0]
        old["outbox"].add(still_due)
        move_back(store, {t: ids for t, ids in old.items() if t not in ("meta", "schema_migrations")}, OLD_DAYS)
        before = snapshot(store)
        assert len(before["knowledge_entries"]) > len(old["knowledge_entries"]) > 0  # the demo and two learned
        changed = retention.forget_old(store, 90)
        after = snapshot(store)
    finally:
        store.close()

    def old_rows(table: str, **where) -> set[int]:
        return {i for i in old[table] if all(before[table][i][k] == v for k, v in where.items())}

    resolved = old_rows("help_requests", status="resolved")
    assert len(resolved) == 1 and len(old_rows("help_requests", status="pending")) == 1
    resolved_callers = {
        i
        for i in old["help_request_callers"]
        if before["help_request_callers"][i]["help_request_id"] in {before["help_requests"][r]["id"] for r in resolved}
    }
    assert len(resolved_callers) == 2
    reviewed = {i for i in old["audits"] if before["audits"][i]["verdict"] is not None}
    assert len(reviewed) == 1 and len(old["audits"]) == 2
    expected_changes = {
        "help_requests": {i: {"caller_name": None, "caller_phone": None} for i in resolved},
        "help_request_callers": {i: {"name": None, "phone": None, "question": None} for i in resolved_callers},
        "ask_log": {i: {"question": "", "client_ip": None} for i in old["ask_log"]},
        "confirmations": {
            i: {"question": "", "embedding": b"", "caller_name": None, "caller_phone": None, "client_ip": None}
            for i in old_rows("confirmations", status="declined")
        },
        "audits": {i: {"question": ""} for i in reviewed},
    }
    expected_deletions = {
        "session_events": old["session_events"],
        "session_turns": old["session_turns"],  # a call's turns, kept for follow-ups and "say that again"
        "outbox": old["outbox"] - {still_due},
        "idempotency_keys": old["idempotency_keys"],
        "caller_sessions": old["caller_sessions"],
        "audits": old["audits"] - reviewed,
    }
    assert all(expected_deletions.values()) and all(expected_changes.values())  # each kind of row was there

    for table, rows in before.items():
        deleted = expected_deletions.get(table, set())
        assert set(after[table]) == set(rows) - deleted, table
        for rowid, row in after[table].items():
            assert row == {**rows[rowid], **expected_changes.get(table, {}).get(rowid, {})}, (table, rowid)
    assert changed == {
        table: len(expected_changes.get(table, {})) + len(expected_deletions.get(table, set())) for table in changed
    }
    assert set(changed) >= set(expected_changes) | set(expected_deletions)
    new_names = {"Nina New", "Ned New", "Nora New"}
    assert new_names <= {r["caller_name"] for r in after["help_requests"].values()} | {
        r["name"] for r in after["help_request_callers"].values()
    }

    store = SqliteStore(data_dir / "frontdesk.db")
    try:
        assert set(retention.forget_old(store, 90).values()) == {0}  # nothing more to do
        assert retention.forget_old(store, 0) == dict.fromkeys(changed, 0)  # 0: kept for ever
        today = datetime.now().astimezone().date()
        oldest_pending = datetime.fromisoformat(
            min(before["help_requests"][i]["created_at"] for i in old_rows("help_requests", status="pending"))
        ).date()
        # The old pending request keeps its caller until it is answered or times out.
        assert retention.retention_summary(store, 90) == (
            f"retention: callers' details kept 90 days (KB_RETENTION_DAYS); oldest kept {oldest_pending.isoformat()}"
        )
        assert oldest_pending <= today - timedelta(days=OLD_DAYS - 1)
        assert retention.retention_summary(store, 0).startswith(
            "retention: callers' details kept for ever (KB_RETENTION_DAYS)"
        )
    finally:
        store.close()


# ---- CSV export: no formulas


FORMULA_LIKE = [
    {
        "answer": '=HYPERLINK("http://evil.example","Click for your booking")',
        "questions": ["=1+1 is two, right?", "+33 6 12 34 56 78 is that your number?", "-10% for students?"],
    },
    {
        "answer": "@reception will call you back.",
        "questions": ["'=already quoted in my spreadsheet?", "''+two quotes?", "'plain apostrophe", "An ordinary one"],
    },
    {"answer": "-", "questions": ["@", "'-", "a =formula in the middle is fine"]},
]


def test_csv_export_neutralises_formulas_and_import_restores_them_exactly(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(entry) + "\n" for entry in FORMULA_LIKE))

    def frontdesk(data_dir: Path, *args: str) -> None:
        result = CliRunner(env=new_user_env(data_dir)).invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output

    frontdesk(tmp_path / "data", "import", str(source))
    frontdesk(tmp_path / "data", "export", str(tmp_path / "out.csv"))
    with (tmp_path / "out.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["answer", "question"]
    cells = [cell for row in rows[1:] for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert rows[1] == ["'" + FORMULA_LIKE[0]["answer"], "'=1+1 is two, right?"]
    assert [row[1] for row in rows[4:8]] == [
        "''=already quoted in my spreadsheet?",
        "'''+two quotes?",
        "'plain apostrophe",
        "An ordinary one",
    ]
    assert rows[8:] == [["'-", "'@"], ["'-", "''-"], ["'-", "a =formula in the middle is fine"]]

    frontdesk(tmp_path / "fresh", "import", str(tmp_path / "out.csv"))
    frontdesk(tmp_path / "fresh", "export", str(tmp_path / "again.jsonl"))
    again = [json.loads(line) for line in (tmp_path / "again.jsonl").read_text(encoding="utf-8").splitlines()]
    assert again == FORMULA_LIKE


def test_session_ids_never_reach_the_logs():
    import json
    import logging

    from kb_service.ops.logs import JsonFormatter

    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5555", "GET", "/api/sessions/Zk3v_secret-id9/events?after=4", "1.1", 200),
        None,
    )
    line = json.loads(JsonFormatter().format(record))
    assert "Zk3v_secret-id9" not in line["message"] and "/api/sessions/•••/events" in line["message"]

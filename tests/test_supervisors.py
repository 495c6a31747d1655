"""Named supervisors: `frontdesk supervisors add NAME` prints a password kept only as a hash, and
`POST /api/supervisors/sign-in` checks it (for a console run on its own), on both backends."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from kb_service.cli import main
from tests.support import BOTH_BACKENDS, TOKEN

pytestmark = BOTH_BACKENDS


@pytest.fixture
def cli(data_dir, database_url, monkeypatch):
    monkeypatch.setenv("KB_DATA_DIR", str(data_dir))
    monkeypatch.setenv("KB_SUPERVISOR_TOKEN", TOKEN)
    if database_url:
        monkeypatch.setenv("KB_DATABASE_URL", database_url)

    def run(*args, ok=True):
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result.output

    return run


def add(cli, name: str) -> str:
    output = cli("supervisors", "add", name)
    found = re.search(r"user (.+), password (\S+)", output)
    assert found, output
    return found.group(2)


def test_add_prints_a_password_that_signs_in_and_is_kept_only_as_a_hash(cli, client):
    password = add(cli, "Maria")
    assert len(password) >= 16
    assert "shown only now" in cli("supervisors", "add", "Jo")
    signed = client.post("/api/supervisors/sign-in", json={"name": "Maria", "password": password})
    assert signed.status_code == 200 and signed.json() == {"name": "Maria"}
    for name, wrong in [("Maria", password + "x"), ("Jo", password), ("Nobody", password)]:
        refused = client.post("/api/supervisors/sign-in", json={"name": name, "password": wrong})
        assert refused.status_code == 401, (name, refused.text)
    store = client.app.state.runtime.store
    kept = [row["password_hash"] for row in store.query("SELECT password_hash FROM supervisors")]
    assert len(kept) == 2 and all(k.startswith("scrypt$") and password not in k for k in kept)
    assert cli("supervisors", "list").split() == ["Jo", "Maria"]


def test_names_are_checked_and_taken_once(cli):
    add(cli, "Maria")
    assert "already" in cli("supervisors", "add", "maria", ok=False)
    assert "shared token" in cli("supervisors", "add", "Supervisor", ok=False)
    assert "printable" in cli("supervisors", "add", "x" * 61, ok=False)
    assert "printable" in cli("supervisors", "add", "  ", ok=False)


def test_sign_in_needs_the_shared_token_and_a_well_formed_body(cli, make_client):
    password = add(cli, "Maria")
    anonymous = make_client(auth=False)
    assert anonymous.post("/api/supervisors/sign-in", json={"name": "Maria", "password": password}).status_code == 401
    client = make_client()
    assert client.post("/api/supervisors/sign-in", json={"name": "Maria"}).status_code == 422
    assert client.post("/api/supervisors/sign-in", json={"name": "", "password": "x"}).status_code == 422


def test_an_answer_and_a_dismissal_are_signed_by_whoever_gave_them(client):
    for question in ("do you do eyelash tinting?", "this is only a test call, ignore it"):
        assert client.post("/api/ask", json={"question": question}).json()["outcome"] == "escalated"
    items = client.get("/api/help-requests", params={"status": "pending", "order": "oldest"}).json()["items"]
    tinting, hello = items[0]["id"], items[1]["id"]
    resolved = client.post(f"/api/help-requests/{tinting}/resolve", json={"answer": "Yes.", "answered_by": "Maria"})
    assert resolved.json()["help_request"]["answered_by"] == "Maria"
    dismissed = client.post(f"/api/help-requests/{hello}/dismiss", json={"dismissed_by": "Jo"})
    assert dismissed.json()["dismissed_by"] == "Jo"

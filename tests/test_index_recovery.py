"""The index is derived from SQLite: a missing, corrupt or stale file is repaired at start-up, never served empty."""

from __future__ import annotations

import json

from click.testing import CliRunner

from kb_service.cli import main


def ask(client, question):
    return client.post("/api/ask", json={"question": question}).json()


def test_missing_index_file_is_rebuilt(make_client, data_dir):
    make_client().__exit__(None, None, None)
    (data_dir / "index.faiss").unlink()
    client = make_client()
    stats = client.get("/api/stats").json()
    assert stats["phrasings_in_index"] == stats["phrasings_in_db"] > 0
    assert ask(client, "What time do you open?")["outcome"] == "answered"


def test_corrupt_or_truncated_index_file_is_rebuilt(make_client, data_dir):
    make_client().__exit__(None, None, None)
    path = data_dir / "index.faiss"
    for damage in (lambda b: b[: len(b) // 2], lambda b: b"garbage" * 10, lambda b: b""):
        path.write_bytes(damage(path.read_bytes()) if path.exists() else b"")
        client = make_client()
        stats = client.get("/api/stats").json()
        assert stats["phrasings_in_index"] == stats["phrasings_in_db"] > 0
        assert ask(client, "What time do you open?")["outcome"] == "answered"
        client.__exit__(None, None, None)


def test_stale_index_catches_up_with_entries_added_while_the_service_was_down(make_client, data_dir, tmp_path):
    make_client().__exit__(None, None, None)
    stale = (data_dir / "index.faiss").read_bytes()
    faq = tmp_path / "faq.jsonl"
    faq.write_text(json.dumps({"answer": "Yes, we have free wifi.", "questions": ["Do you have wifi?"]}) + "\n")
    result = CliRunner(env={"KB_DATA_DIR": str(data_dir)}).invoke(main, ["import", str(faq)])
    assert result.exit_code == 0, result.output
    (data_dir / "index.faiss").write_bytes(stale)  # as if the import had never reached the index file

    client = make_client()
    assert ask(client, "Do you have wifi?")["answer"] == "Yes, we have free wifi."


def test_an_import_while_the_service_runs_is_picked_up(client, data_dir, tmp_path):
    faq = tmp_path / "faq.jsonl"
    faq.write_text(json.dumps({"answer": "Yes, we have free wifi.", "questions": ["Do you have wifi?"]}) + "\n")
    result = CliRunner(env={"KB_DATA_DIR": str(data_dir)}).invoke(main, ["import", str(faq)])
    assert result.exit_code == 0, result.output
    from tests.support import wait_for

    wait_for(lambda: ask(client, "Do you have wifi?")["outcome"] == "answered", what="service to see the import")

"""A business owner's own data imported over the demo salon: answering never switches off, entries that contradict
each other are named, and the first import offers to replace the demo (console API and `frontdesk import`)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from kb_service.cli import main
from tests.support import TOKEN, wait_for

DENTAL = (Path(__file__).parent / "data" / "dental_pairs.txt").read_text(encoding="utf-8")
DEMO_ENTRIES = 10


def _env(data_dir: Path) -> dict:
    return {"KB_DATA_DIR": str(data_dir), "KB_SUPERVISOR_TOKEN": TOKEN}


def _calibrated_after(client, version_before: str | None) -> dict:
    return wait_for(
        lambda: (c := client.get("/api/stats").json()["calibration"]) and c["calibrated_at"] != version_before and c,
        timeout=60,
        what="a calibration after the import",
    )


def test_own_data_kept_beside_the_demo_names_the_contradictions_and_keeps_answering(make_client):
    client = make_client()  # the demo salon
    first = wait_for(lambda: client.get("/api/stats").json()["calibration"], what="a calibration at start")
    preview = client.post("/api/knowledge/import/preview", json={"format": "pairs", "text": DENTAL}).json()
    assert preview["demo_only"] is True and not preview["problems"]
    imported = client.post("/api/knowledge/import", json={"format": "pairs", "text": DENTAL}).json()
    assert imported["demo_removed"] == 0 and len(imported["knowledge_ids"]) >= 15
    assert (
        client.post("/api/knowledge/import/preview", json={"format": "pairs", "text": DENTAL}).json()["demo_only"]
        is False
    )

    calibrated = _calibrated_after(client, first["calibrated_at"])
    quality = client.get("/api/quality").json()
    assert calibrated["threshold"] <= 1.0 and quality["threshold"] <= 1.0
    named = {tuple(q.casefold() for q in c["questions"]) for c in quality["conflicts"]}
    assert ("what are your opening hours?", "what are your opening hours?") in named
    assert ("how do i book an appointment?", "how do i book an appointment?") in named
    assert "different answers to the same question" in quality["calibration"]

    # Either business's opening hours would be a guess: the supervisor is asked.
    assert client.post("/api/ask", json={"question": "What are your opening hours?"}).json()["outcome"] == "escalated"
    # Everything else still answers: each entry's own wording, at a confidence that reaches the threshold.
    for question, expected in [("Do you do root canals?", "root canals"), ("How much is balayage?", "balayage")]:
        reply = client.post("/api/ask", json={"question": question}).json()
        assert reply["outcome"] == "answered" and expected in reply["answer"], reply
        assert reply["confidence"] >= quality["threshold"] > reply["confidence"] - 1


PARAPHRASES = [  # of the dental entries, none of them an imported question; (question, words of the right answer)
    ("what do you charge for whitening?", "whitening"),
    ("are kids welcome?", "children"),
    ("my tooth hurts, can you see me today?", "same-day"),
    ("how much is a cleaning?", "$180"),
    ("what's the price of a filling?", "$150"),
    ("I'm scared of the dentist", "nervous"),
    ("can you take out my wisdom teeth?", "wisdom"),
    ("what do I need to bring to my first appointment?", "photo ID"),
    ("do you offer clear aligners?", "Invisalign"),
    ("do you accept Aetna?", "Aetna"),
]


def _answered_after_at_most_one_check(client, question: str, expected: str) -> str:
    reply = client.post("/api/ask", json={"question": question}).json()
    if reply["outcome"] == "confirm":  # an honest caller: yes only to the right entry
        entry = client.get(f"/api/knowledge/{reply['knowledge_id']}").json()
        yes = expected in entry["answer"]
        reply = client.post(f"/api/confirmations/{reply['confirmation_id']}", json={"confirmed": yes}).json()
    if reply["outcome"] != "answered":
        return "escalated"
    return "right" if expected in reply["answer"] else "wrong"


def test_the_console_can_replace_the_demo_on_the_first_import(make_client):
    client = make_client()
    imported = client.post("/api/knowledge/import", json={"format": "pairs", "text": DENTAL, "replace_demo": True})
    assert imported.status_code == 200 and imported.json()["demo_removed"] == DEMO_ENTRIES
    assert imported.json()["message"].startswith("replaced the demo (10 entries); imported")
    answers = [e["answer"] for e in client.get("/api/knowledge?limit=100").json()["items"]]
    assert len(answers) == len(imported.json()["knowledge_ids"]) and not any("Maple Street" in a for a in answers)
    again = client.post("/api/knowledge/import", json={"format": "pairs", "text": DENTAL, "replace_demo": True})
    assert again.json()["demo_removed"] == 0  # the demo is gone: nothing else is ever deleted

    # Twenty pairs, most answers taught one way: too few to calibrate, so checks start low and paraphrases land.
    wait_for(lambda: client.get("/api/quality").json()["confirm_threshold"] <= 0.5, timeout=60, what="the band")
    assert client.get("/api/quality").json()["threshold"] <= 1.0
    heard = [_answered_after_at_most_one_check(client, q, expected) for q, expected in PARAPHRASES]
    assert heard.count("wrong") == 0 and heard.count("right") >= len(PARAPHRASES) // 2, heard


def test_frontdesk_import_asks_to_replace_the_demo_and_draws_no_progress_bars_into_a_log(
    make_client, data_dir, tmp_path
):
    make_client().__exit__(None, None, None)  # a first start loads the demo
    pairs = tmp_path / "dental.txt"
    pairs.write_text(DENTAL, encoding="utf-8")
    runner = CliRunner()
    kept = runner.invoke(main, ["import", str(pairs)], env=_env(data_dir))  # no terminal to ask on
    assert kept.exit_code == 0, kept.output
    assert "kept the demo salon's entries (frontdesk import --replace-demo replaces them)" in kept.stderr
    assert "█" not in kept.stderr and "%" not in kept.stderr and "it/s" not in kept.stderr

    fresh = tmp_path / "fresh"
    make_client(data_dir=fresh).__exit__(None, None, None)
    replaced = runner.invoke(main, ["import", "--replace-demo", str(pairs)], env=_env(fresh))
    assert replaced.exit_code == 0, replaced.output
    assert replaced.stdout.startswith("replaced the demo (10 entries); imported")
    exported = tmp_path / "out.jsonl"
    runner.invoke(main, ["export", str(exported)], env=_env(fresh))
    assert not any("Maple Street" in json.loads(line)["answer"] for line in exported.read_text().splitlines())


def test_calibrate_names_contradicting_entries_and_says_what_it_applied(make_client, data_dir, tmp_path):
    make_client().__exit__(None, None, None)
    pairs = tmp_path / "dental.txt"
    pairs.write_text(DENTAL, encoding="utf-8")
    CliRunner().invoke(main, ["import", "--keep-demo", str(pairs)], env=_env(data_dir))
    shown = CliRunner().invoke(main, ["calibrate", "--apply"], env=_env(data_dir))
    assert shown.exit_code == 0, shown.output
    assert "'What are your opening hours?' / 'What are your opening hours?'" in shown.stdout
    assert "applied: the service answers by itself from confidence 0.9" in shown.stdout
    assert "at least" not in shown.stdout  # a lower bound is never presented as the precision reached
    result = json.loads(CliRunner().invoke(main, ["calibrate", "--json"], env=_env(data_dir)).stdout)
    assert result["threshold"] <= 1.0 and result["status"] == "calibrated"
    assert {"knowledge_ids", "questions"} == set(result["conflicts"][0])


def test_questions_given_as_a_string_is_named_as_such(make_client, tmp_path, data_dir):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"answer": "Yes.", "questions": "Do you open on Sundays?"}) + "\n")
    result = CliRunner().invoke(main, ["import", str(bad)], env=_env(data_dir))
    assert result.exit_code == 1
    assert 'line 1: "questions" must be a list of strings' in result.output

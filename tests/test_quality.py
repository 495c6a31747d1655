"""Answer quality: `frontdesk eval`, `frontdesk calibrate`, `stats --quality`, learning, on real data."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from pathlib import Path

from click.testing import CliRunner

from kb_service.cli import main
from kb_service.knowledge.entries import KnowledgeBase
from kb_service.matching import calibration, evaluation, self_test
from kb_service.matching.matcher import Matcher
from kb_service.storage.sqlite import SqliteStore
from tests.support import CLINC150, TOKEN, request_for, wait_for


def _env(data_dir: Path) -> dict:
    return {"KB_DATA_DIR": str(data_dir), "KB_SUPERVISOR_TOKEN": TOKEN}


def test_eval_on_a_clinc150_slice_reports_sane_numbers(tmp_path):
    plot = tmp_path / "curve.png"
    result = CliRunner().invoke(
        main,
        [
            "eval",
            "--clinc150",
            str(CLINC150),
            "--k",
            "5",
            "--split",
            "val",
            "--intents",
            "20",
            "--json",
            "--plot",
            str(plot),
        ],
        env=_env(tmp_path / "data"),
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["entries"] == 20 and report["queries"] == 20 * 20 + 100
    points = report["points"]
    # Stricter thresholds answer less: coverage never grows with the threshold.
    assert all(a["coverage"] >= b["coverage"] for a, b in itertools.pairwise(points))
    current = report["current"]
    assert current["precision"] >= 0.9 and 0.2 <= current["coverage"] <= 1.0
    assert current["false_answer_rate"] <= 0.05
    assert report["best_for_target"]["precision"] >= 0.95
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_eval_reads_json_lines_and_prints_a_table(tmp_path):
    knowledge = tmp_path / "kb.jsonl"
    queries = tmp_path / "asked.jsonl"
    knowledge.write_text(
        "\n".join(
            json.dumps(e)
            for e in [
                {
                    "answer": "We open at 9am.",
                    "questions": ["What time do you open?", "When do you open in the morning?"],
                },
                {
                    "answer": "Parking is free behind the building.",
                    "questions": ["Where can I park?", "Is there parking?"],
                },
            ]
        )
    )
    queries.write_text(
        "\n".join(
            json.dumps(q)
            for q in [
                {"question": "what time do you open in the morning", "expected_answer": "We open at 9am."},
                {"question": "where do I park my car", "expected_answer": "Parking is free behind the building."},
                {"question": "do you sell concert tickets", "expected_answer": None},
            ]
        )
    )
    result = CliRunner().invoke(
        main, ["eval", "--knowledge", str(knowledge), "--queries", str(queries)], env=_env(tmp_path / "data")
    )
    assert result.exit_code == 0, result.output
    assert "precision" in result.stdout and "<- current settings" in result.stdout
    bad = CliRunner().invoke(
        main, ["eval", "--knowledge", str(knowledge), "--queries", str(knowledge)], env=_env(tmp_path / "data")
    )
    assert bad.exit_code != 0 and "expected an object with question" in bad.output


def test_self_calibration_never_goes_below_the_configured_threshold_and_reports_a_lower_bound(embedder):
    data = evaluation.restrict(evaluation.load_clinc150(CLINC150, 5, "val"), 20)
    result = calibration.calibrate_entries(embedder, data.knowledge, 0.95, floor=0.96)
    assert result.status == "calibrated" and result.positives == 100 and result.unknowns == 100
    assert result.threshold >= 0.96
    outcomes = evaluation.ask_all(embedder, data)
    on_val = evaluation.point(outcomes, result.threshold)  # the labelled questions it never saw
    assert on_val.precision >= 0.95 and on_val.false_answer_rate <= 0.05
    # Its estimate is the lower end of an interval on its own phrasings: never above the point it bounds.
    self_test = calibration.calibrate_entries(embedder, data.knowledge, 0.95, floor=result.threshold)
    assert self_test.estimated_precision is None or self_test.estimated_precision <= 1.0
    assert "95% lower bound" in result.describe() or "none of them is sure enough" in result.describe()


def test_calibration_lets_waiting_asks_go_first_before_each_chunk_and_gets_the_same_result(embedder, tmp_path):
    """The service passes a `yield_to` that waits while asks are in hand, so a calibration beside calls does not
    slow their answers; giving way changes nothing in what it finds."""
    data = evaluation.restrict(evaluation.load_clinc150(CLINC150, 5, "val"), 20)
    store = SqliteStore(tmp_path / "kb.db")
    kb = KnowledgeBase(store, embedder)
    kb.import_entries(data.knowledge)
    gave_way = []
    patient = calibration.calibrate(Matcher(kb, 0.9), 0.95, 0.9, yield_to=lambda: gave_way.append(True))
    plain = calibration.calibrate(Matcher(kb, 0.9), 0.95, 0.9)
    store.close()
    # before each chunk of the search for contradicting entries, and of the self-test
    assert len(gave_way) == 2 * math.ceil(100 / self_test.CHUNK) > 2
    assert dataclasses.replace(patient, calibrated_at="") == dataclasses.replace(plain, calibrated_at="")


def test_a_knowledge_base_too_small_to_calibrate_keeps_the_configured_threshold_and_says_so(embedder):
    entries = [
        ("We open at 9am.", ["What time do you open?", "When do you open?"]),
        ("Parking is behind the building.", ["Where can I park?", "Is there parking?"]),
    ]
    result = calibration.calibrate_entries(embedder, entries, 0.95, floor=0.9)
    assert result.status == "too_small" and result.threshold == 0.9
    assert "too small to calibrate" in result.describe() and "kept the configured threshold 0.9" in result.describe()
    copies = [
        (f"Answer {n}.", [f"Question number {n}?", f"question number {n}?", f"QUESTION NUMBER {n}?"]) for n in range(20)
    ]
    duplicated = calibration.calibrate_entries(embedder, copies, 0.95, floor=0.9)
    assert duplicated.status == "too_duplicated" and duplicated.threshold == 0.9
    assert "too duplicated to calibrate" in duplicated.describe()


def test_the_service_calibrates_itself_at_start_and_calibrate_apply_is_shown_in_stats(make_client, data_dir):
    client = make_client()  # the demo salon
    started = wait_for(lambda: client.get("/api/stats").json()["calibration"], what="a calibration at start")
    assert started["threshold"] >= client.get("/api/stats").json()["match_threshold"] - 0.1
    client.__exit__(None, None, None)
    result = CliRunner().invoke(main, ["calibrate", "--apply", "--json"], env=_env(data_dir))
    assert result.exit_code == 0, result.output
    stored = json.loads(result.stdout)
    stats = make_client().get("/api/stats").json()
    assert stats["calibration"]["calibrated_at"] == stored["calibrated_at"]
    assert stats["match_threshold"] >= stored["threshold"]  # verdicts may only move it from there
    shown = CliRunner().invoke(main, ["stats"], env=_env(data_dir))
    assert "calibration (" in shown.stdout and f"match threshold: {stats['match_threshold']}" in shown.stdout


def test_a_learned_phrasing_raises_coverage_and_counts_as_a_missed_auto_answer(make_client, data_dir):
    client = make_client()
    parking = next(e for e in client.get("/api/knowledge?limit=50").json()["items"] if "parking" in e["answer"])
    question = "is there somewhere to leave my car while I'm at the salon"
    first = client.post("/api/ask", json={"question": question}).json()
    assert first["outcome"] == "escalated"
    client.post(
        f"/api/help-requests/{request_for(client, first['reference'])}/resolve",
        json={"answer": parking["answer"], "knowledge_id": parking["id"]},
    ).raise_for_status()
    again = client.post("/api/ask", json={"question": question}).json()
    assert again["outcome"] == "answered" and again["knowledge_id"] == parking["id"]
    quality = CliRunner().invoke(main, ["stats", "--quality", "--json"], env=_env(data_dir))
    assert quality.exit_code == 0, quality.output
    numbers = json.loads(quality.stdout)
    assert numbers["asks"] == 2 and numbers["auto_answer_rate"] == 0.5 and numbers["escalation_rate"] == 0.5
    assert numbers["missed_auto_answers"] == 1 and numbers["resolved_escalations"] == 1
    text = CliRunner().invoke(main, ["stats", "--quality"], env=_env(data_dir))
    assert "missed auto-answers: 1 of 1" in text.stdout


def test_recalibrates_itself_after_a_learned_answer(make_client):
    client = make_client(KB_RECALIBRATE_EVERY=1)
    first = wait_for(lambda: client.get("/api/stats").json()["calibration"], what="a calibration at start")
    assert first["learned"] == 0
    asked = client.post("/api/ask", json={"question": "is there wifi I can use while I wait?"}).json()
    assert asked["outcome"] == "escalated"
    client.post(
        f"/api/help-requests/{request_for(client, asked['reference'])}/resolve",
        json={"answer": "Yes, the wifi password is on the mirror."},
    ).raise_for_status()
    stats = wait_for(
        lambda: (s := client.get("/api/stats").json())["calibration"]["learned"] == 1 and s,
        timeout=60,  # calibration takes at most its share of the CPU: on a busy machine it waits its turn
        what="a re-calibration after one learned answer",
    )
    assert stats["match_threshold"] >= stats["calibration"]["threshold"] - 0.1


def test_no_automatic_calibration_when_switched_off(make_client):
    client = make_client(KB_RECALIBRATE_EVERY=0, KB_REQUEST_TIMEOUT_SECONDS=0.2)
    asked = client.post("/api/ask", json={"question": "is there wifi I can use while I wait?"}).json()
    # The sweeper timing the request out is the witness that it has run its rounds meanwhile.
    wait_for(
        lambda: client.get(f"/api/help-requests/{request_for(client, asked['reference'])}").json()["status"]
        == "unresolved"
    )
    assert client.get("/api/stats").json()["calibration"] is None

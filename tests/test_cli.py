"""The `frontdesk` CLI on a real data directory."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from kb_service.cli import main


@pytest.fixture
def cli(data_dir, monkeypatch):
    monkeypatch.setenv("KB_DATA_DIR", str(data_dir))
    monkeypatch.setenv("KB_SUPERVISOR_TOKEN", "t")
    runner = CliRunner()

    def run(*args, ok=True):
        result = runner.invoke(main, list(args), catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result

    return run


ENTRIES = [
    {"answer": "We close at 7pm on weekdays.", "questions": ["When do you close?", "Until what time are you open?"]},
    {"answer": "Parking is free behind the salon.", "questions": ["Where can I park?"]},
    {"answer": 'He said "hi", then left, café', "questions": ['Tricky, "quoted" text?']},
]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_import_export_round_trip_jsonl_and_csv(cli, tmp_path):
    cli("import", str(write_jsonl(tmp_path / "in.jsonl", ENTRIES)))
    cli("export", str(tmp_path / "out.jsonl"))
    exported = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert exported == ENTRIES

    cli("export", str(tmp_path / "out.csv"))
    csv_text = (tmp_path / "out.csv").read_text()
    assert csv_text.splitlines()[0] == "answer,question"
    assert len(csv_text.splitlines()) == 5

    # Importing the CSV into a fresh data dir gives the same knowledge base.
    fresh = tmp_path / "fresh"
    result = CliRunner(env={"KB_DATA_DIR": str(fresh)}).invoke(main, ["import", str(tmp_path / "out.csv")])
    assert result.exit_code == 0, result.output
    CliRunner(env={"KB_DATA_DIR": str(fresh)}).invoke(main, ["export", str(tmp_path / "again.jsonl")])
    assert [json.loads(line) for line in (tmp_path / "again.jsonl").read_text().splitlines()] == ENTRIES


def test_import_rejects_a_bad_file_without_writing_anything(cli, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(ENTRIES[0]) + "\n" + json.dumps({"answer": "x", "questions": []}) + "\n")
    result = cli("import", str(bad), ok=False)
    assert "bad.jsonl, line 2: no questions" in result.output
    assert "Traceback" not in result.output
    (tmp_path / "notjson.jsonl").write_text("{oops\n")
    assert "not JSON" in cli("import", str(tmp_path / "notjson.jsonl"), ok=False).output
    (tmp_path / "bad.csv").write_text("q,a\nx,y\n")
    assert "columns" in cli("import", str(tmp_path / "bad.csv"), ok=False).output
    cli("export", str(tmp_path / "out.jsonl"))
    assert (tmp_path / "out.jsonl").read_text() == ""


def test_stats_reports_counts_and_index_size(cli, tmp_path):
    cli("import", str(write_jsonl(tmp_path / "in.jsonl", ENTRIES)))
    stats = json.loads(cli("stats", "--json").output)
    assert stats["knowledge_entries"] == 3
    assert stats["phrasings_in_db"] == 4 and stats["phrasings_in_index"] == 4
    assert stats["help_requests"] == {"pending": 0, "resolved": 0, "unresolved": 0, "dismissed": 0}
    text = cli("stats").output
    assert "3 entries" in text and "4 phrasings in the database, 4 in the index" in text


def test_rebuild_index_recreates_a_deleted_index_file(cli, tmp_path, data_dir):
    cli("import", str(write_jsonl(tmp_path / "in.jsonl", ENTRIES)))
    (data_dir / "index.faiss").unlink()
    assert "no readable index file" in cli("stats").output
    assert "rebuilt the index: 4 phrasings, 3 entries" in cli("rebuild-index").output
    assert json.loads(cli("stats", "--json").output)["phrasings_in_index"] == 4


def test_import_skips_what_is_already_there_and_adds_only_new_phrasings(cli, tmp_path):
    first = cli("import", str(write_jsonl(tmp_path / "in.jsonl", ENTRIES))).output
    assert "imported 3 entries from in.jsonl" in first
    again = cli("import", str(tmp_path / "in.jsonl")).output
    assert "imported 0 entries, skipped 3 duplicates from in.jsonl" in again

    more = [
        {"answer": ENTRIES[0]["answer"], "questions": ["When do you close?", "What time do you shut?"]},
        ENTRIES[1],
        {"answer": "Yes, we sell gift cards.", "questions": ["Do you sell gift cards?"]},
    ]
    said = cli("import", str(write_jsonl(tmp_path / "more.jsonl", more))).output
    assert "imported 1 entry, added 1 phrasing to existing entries, skipped 1 duplicate from more.jsonl" in said
    cli("export", str(tmp_path / "out.jsonl"))
    exported = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert exported == [
        {**ENTRIES[0], "questions": [*ENTRIES[0]["questions"], "What time do you shut?"]},
        *ENTRIES[1:],
        more[2],
    ]
    stats = json.loads(cli("stats", "--json").output)
    assert stats["phrasings_in_db"] == stats["phrasings_in_index"] == 6


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "answer,question\nOpen 9-5.,When do you open?\nOpen 9-5.,Hours?\nWe close at 7.,   \n",
            "line 4: the question is empty",
        ),
        ("answer,question\n,When do you open?\n", "line 2: the answer is empty"),
    ],
)
def test_import_names_the_line_and_the_problem_in_plain_words(cli, tmp_path, text, message):
    (tmp_path / "faq.csv").write_text(text)
    output = cli("import", str(tmp_path / "faq.csv"), ok=False).output
    assert f"faq.csv, {message}" in output
    assert "String should" not in output and "validation" not in output and "Traceback" not in output
    jsonl = tmp_path / "faq.jsonl"
    jsonl.write_text(json.dumps({"answer": "Open 9-5.", "questions": ["When do you open?", " "]}) + "\n")
    assert "faq.jsonl, line 1: question 2 is empty" in cli("import", str(jsonl), ok=False).output


def test_every_command_has_help_with_examples_one_a_line_and_says_if_it_is_safe_while_serving(cli):
    for command in main.commands:
        output = cli(command, "--help").output
        example = output.split("Example:")[1].split("Options:")[0]
        lines = [line.strip() for line in example.strip().splitlines()]
        assert lines and all(line.startswith("frontdesk ") and line.count("frontdesk") == 1 for line in lines), output
        if command != "serve":
            prose = " ".join(output.split()).lower()
            assert "safe while the service runs" in prose or "stop the service first" in prose, command


def test_an_unquoted_comma_in_a_csv_is_named_not_cut(cli, tmp_path):
    bad = tmp_path / "clinic.csv"
    bad.write_text('answer,question\n"We open at 8.",When do you open?\nYes today.,I have a toothache, can I come?\n')
    result = cli("import", str(bad), ok=False)
    assert "line 3: 3 cells where the header has 2" in result.output and "double quotes" in result.output
    assert cli("stats", "--json").output.count('"knowledge_entries": 0') == 1  # nothing imported

"""Import tab: many answers at once, from an uploaded CSV or JSON Lines file or pasted question–answer pairs.

A preview first (`POST /api/knowledge/import/preview`): what each line does, every wrong line's problem, and a
warning for a question close in meaning to another entry. Import (`POST /api/knowledge/import`) is offered only
for the text just previewed, and only when every line reads well. The service runs the same code as
`frontdesk import`, so both skip what is already there."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from kb_service.knowledge.importing import format_of
from supervisor_gradio import widgets
from supervisor_gradio.api import ApiError, ClientFor

HEADERS = ["Line", "What happens", "Question(s)", "Answer", "Problem or warning"]
FORMATS = [("Pasted pairs", "pairs"), ("CSV", "csv"), ("JSON Lines", "jsonl")]
ACTIONS = {"new": "new entry", "add": "adds to entry #{}", "skip": "already there"}
INTRO = (
    "Add many answers at once. **Upload** a CSV (columns `answer` and `question`) or JSON Lines file "
    '(`{"answer": …, "questions": […]}` per line), as `frontdesk export` writes them, or **paste** '
    "question–answer pairs, one a line: the question, a tab (as copied from a spreadsheet) or ` | `, then the "
    "answer. Nothing is written until you press **Import**."
)
EXAMPLE = "Do you do eyebrow waxing? | Yes, eyebrow waxing is $15 and takes 15 minutes."
MAX_FILE_BYTES = 1_000_000


def plural(n: int, one: str, many: str = "") -> str:
    return f"**{n}** {one if n == 1 else many or one + 's'}"


def preview_rows(preview: dict) -> list[list]:
    """One row per line, in the text's order: what it does, or what is wrong with it."""
    rows: list[list] = []
    first_line: dict[str, int] = {}
    for line in preview["lines"]:
        action = ACTIONS[line["action"]].format(line["knowledge_id"])
        if line["action"] == "new":  # lines with the same answer make one entry
            first = first_line.setdefault(line["answer"], line["line"])
            action = action if first == line["line"] else f"joins line {first}'s new entry"
        rows.append([line["line"], action, " | ".join(line["questions"]), line["answer"], " ".join(line["warnings"])])
    problems = [[p["line"] or "", "not imported: fix it", "", "", p["message"]] for p in preview["problems"]]
    # The wrong lines first: a long file's bad line would otherwise sit at the bottom of a scrolling table.
    return sorted(problems, key=lambda row: row[0] or 0) + sorted(rows, key=lambda row: row[0])


def preview_summary(preview: dict) -> str:
    """Counts only (the lines themselves go in the table, as text)."""
    problems, lines = len(preview["problems"]), len(preview["lines"])
    if problems:
        numbers = sorted({int(p["line"]) for p in preview["problems"] if p["line"]})
        where = f" on line{'s' if len(numbers) > 1 else ''} {', '.join(map(str, numbers[:10]))}" if numbers else ""
        where += " …" if len(numbers) > 10 else ""
        return (
            f"{plural(problems, 'problem')} to fix{where} before anything can be imported (at the top of the "
            "table). Fix them in the text and preview again."
        )
    warned = sum(bool(line["warnings"]) for line in preview["lines"])
    said = (
        f"{plural(lines, 'line')} read well: {plural(preview['entries_new'], 'new entry', 'new entries')}, "
        f"{plural(preview['phrasings_added'], 'phrasing')} added to entries already there, "
        f"{plural(preview['duplicates_skipped'], 'entry', 'entries')} already there in full."
    )
    if warned:
        said += (
            f" {plural(warned, 'line')} with a question close to another entry's: check the warnings, "
            "and fix or remove those lines if they ask the same thing."
        )
    return said


def build(client_for: ClientFor) -> None:
    previewed = gr.State(None)  # the (format, text) the last clean preview was for: Import writes only that
    gr.Markdown(INTRO)
    with gr.Row():
        upload = gr.File(
            label="Upload a file",
            file_types=[".csv", ".jsonl", ".json", ".txt", ".tsv"],
            type="filepath",
            elem_id="import-file",
            scale=1,
        )
        fmt = gr.Radio(FORMATS, value="pairs", label="Format", elem_id="import-format", scale=1)
    text = gr.Textbox(
        label="Text to import", lines=8, max_lines=20, placeholder=EXAMPLE, elem_id="import-text", max_length=None
    )
    preview_button = gr.Button("Preview", elem_id="import-preview")
    summary = gr.Markdown(elem_id="import-summary")
    table = widgets.read_only_table(
        HEADERS, "import-table", ["7%", "15%", "28%", "28%", "22%"], label="Preview, line by line"
    )
    import_button = gr.Button("Import", variant="primary", interactive=False, elem_id="import-go")
    result = gr.Markdown(elem_id="import-result")

    def read_upload(path):
        if not path:
            return gr.skip(), gr.skip(), gr.skip()
        file = Path(path)
        if file.stat().st_size > MAX_FILE_BYTES:
            return gr.skip(), gr.skip(), "That file is over 1 MB: import it with `frontdesk import` instead."
        try:
            content = file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            return gr.skip(), gr.skip(), "That file is not UTF-8 text: save it as UTF-8 (or CSV UTF-8) and retry."
        return format_of(file.name), content, "File read: check the format, then press **Preview**."

    def preview(chosen, content, request: gr.Request):
        try:
            found = client_for(request).preview_import(chosen, content or "")
        except ApiError as exc:
            return exc.explain(), gr.skip(), gr.Button(interactive=False), None
        doable = not found["problems"] and (found["entries_new"] or found["phrasings_added"])
        return (
            preview_summary(found),
            gr.Dataframe(value=preview_rows(found), headers=HEADERS),
            gr.Button(interactive=bool(doable)),
            (chosen, content) if doable else None,
        )

    def run_import(chosen, content, checked, request: gr.Request):
        if checked != (chosen, content):
            return "Preview the text first: it changed since the last preview.", gr.skip(), gr.skip()
        try:
            done = client_for(request).import_knowledge(chosen, content)
        except ApiError as exc:
            return exc.explain(), gr.skip(), gr.skip()
        said = done["message"][:1].upper() + done["message"][1:]
        return f"{said}. Find them in the Knowledge base tab.", gr.Button(interactive=False), None

    def changed():
        return gr.Button(interactive=False), None

    upload.upload(read_upload, [upload], [fmt, text, result])
    preview_button.click(preview, [fmt, text], [summary, table, import_button, previewed])
    import_button.click(run_import, [fmt, text, previewed], [result, import_button, previewed])
    text.change(changed, None, [import_button, previewed])
    fmt.change(changed, None, [import_button, previewed])

"""Import tab: many answers at once, from an uploaded CSV or JSON Lines file or pasted question–answer pairs.

A preview first (`POST /api/knowledge/import/preview`): what each line does, every wrong line's problem, and a
warning for a question close in meaning to another entry. Import (`POST /api/knowledge/import`) is offered only
for the text just previewed, and only when every line reads well. The service runs the same code as
`frontdesk import`, so both skip what is already there. When the knowledge base holds only the demo salon
(`demo_only` in the preview), the tab asks whether to replace the demo, as `frontdesk import --replace-demo` does."""

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
DEMO_QUESTION = "Your knowledge base holds only the demo salon. Replace the demo with your entries?"
DEMO_CHOICES = [("Replace the demo with your entries (recommended)", "replace"), ("Keep the demo too", "keep")]
DEMO_NOTE = (
    "Replacing deletes the demo's entries when you press **Import**; the preview above compares your lines with "
    "the demo's, so a line it says adds to or repeats a demo entry makes a new entry instead."
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
    previewed = gr.State(None)  # the (format, text, demo_only) of the last clean preview: Import writes only that
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
    demo_choice = gr.Radio(
        DEMO_CHOICES, value="replace", label=DEMO_QUESTION, info=DEMO_NOTE, visible=False, elem_id="import-demo"
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
            return exc.explain(), gr.skip(), gr.Button(interactive=False), None, gr.Radio(visible=False)
        demo_only = bool(found.get("demo_only"))
        # Over the demo, lines that repeat a demo entry still import once the demo is replaced.
        doable = not found["problems"] and (
            found["entries_new"] or found["phrasings_added"] or (demo_only and found["lines"])
        )
        return (
            preview_summary(found),
            gr.Dataframe(value=preview_rows(found), headers=HEADERS),
            gr.Button(interactive=bool(doable)),
            (chosen, content, demo_only) if doable else None,
            gr.Radio(visible=bool(doable and demo_only)),
        )

    def run_import(chosen, content, demo, checked, request: gr.Request):
        if not checked or checked[:2] != (chosen, content):
            return "Preview the text first: it changed since the last preview.", gr.skip(), gr.skip(), gr.skip()
        replace = checked[2] and demo == "replace"
        try:
            done = client_for(request).import_knowledge(chosen, content, replace_demo=replace)
        except ApiError as exc:
            return exc.explain(), gr.skip(), gr.skip(), gr.skip()
        said = done["message"][:1].upper() + done["message"][1:]
        hidden = gr.Radio(visible=False)
        return f"{said}. Find them in the Knowledge base tab.", gr.Button(interactive=False), None, hidden

    def changed():
        return gr.Button(interactive=False), None, gr.Radio(visible=False)

    upload.upload(read_upload, [upload], [fmt, text, result])
    preview_button.click(preview, [fmt, text], [summary, table, import_button, previewed, demo_choice])
    import_button.click(
        run_import, [fmt, text, demo_choice, previewed], [result, import_button, previewed, demo_choice]
    )
    text.change(changed, None, [import_button, previewed, demo_choice])
    fmt.change(changed, None, [import_button, previewed, demo_choice])

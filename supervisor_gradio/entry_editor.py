"""The knowledge entry editor: an entry's answer and phrasings, Save, Add phrasing, Delete (with a confirmation),
and "Add an entry by hand". It acts only on the entry it holds, which only opening or adding one sets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from supervisor_gradio import views
from supervisor_gradio.api import ApiClient, ApiError, ClientFor

OPEN_FIRST = "Open an entry first: click its row."


@dataclass
class EntryEditor:
    group: gr.Group  # shown once an entry is open: nothing to save or delete before
    title: gr.Markdown
    answer: gr.Textbox
    phrasings: gr.Textbox
    loaded_id: gr.State
    confirm_row: gr.Row
    result: gr.Markdown

    @property
    def outputs(self) -> list:
        return [self.group, self.title, self.answer, self.phrasings, self.loaded_id, self.confirm_row, self.result]

    def opened(self, entry: dict, message: str = "") -> dict:
        used = views.local_time(entry.get("last_used_at")) or "never"
        return {
            self.group: gr.Group(visible=True),
            self.title: f"**Entry #{int(entry['id'])}** · used {views.plural(int(entry['hit_count']), 'time')}, "
            f"last used {used}",
            self.answer: entry["answer"],
            self.phrasings: "\n".join(p["question"] for p in entry["phrasings"]),
            self.loaded_id: entry["id"],
            self.confirm_row: gr.Row(visible=False),
            self.result: message,
        }

    def open(self, client: ApiClient, knowledge_id: int | None) -> dict:
        if knowledge_id is None:
            return {}
        try:
            return self.opened(client.knowledge_entry(knowledge_id))
        except ApiError as exc:
            closed = {
                self.group: gr.Group(visible=False),
                self.loaded_id: None,
                self.confirm_row: gr.Row(visible=False),
            }
            return {**closed, self.result: exc.explain()}


class EditorActions:
    """What the editor's buttons do, each returning named updates."""

    def __init__(self, client_for: ClientFor, editor: EntryEditor, new_phrasing: gr.Textbox, create: dict):
        self.client_for, self.editor, self.new_phrasing, self.create = client_for, editor, new_phrasing, create

    def save(self, loaded, text, phrasings_text, request: gr.Request) -> dict:
        result, questions = self.editor.result, views.phrasing_lines(phrasings_text)
        if loaded is None:
            return {result: OPEN_FIRST}
        if not questions or not (text or "").strip():
            return {result: "An entry needs an answer and at least one phrasing."}
        try:
            entry = self.client_for(request).update_knowledge(loaded, text.strip(), questions)
        except ApiError as exc:
            return {result: exc.explain()}
        saved = f"Saved entry #{int(entry['id'])} ({views.plural(len(entry['phrasings']), 'phrasing')})."
        return {result: saved, self.editor.phrasings: "\n".join(p["question"] for p in entry["phrasings"])}

    def add_phrasing(self, loaded, phrasing, request: gr.Request) -> dict:
        result = self.editor.result
        if loaded is None:
            return {result: OPEN_FIRST}
        if not (phrasing or "").strip():
            return {result: "Type the new phrasing first."}
        client = self.client_for(request)
        try:
            current = [p["question"] for p in client.knowledge_entry(loaded)["phrasings"]]
            entry = client.update_knowledge(loaded, questions=views.phrasing_lines("\n".join([*current, phrasing])))
        except ApiError as exc:
            return {result: exc.explain()}
        count = views.plural(len(entry["phrasings"]), "phrasing")
        return {
            result: f"Added a phrasing to entry #{int(entry['id'])} ({count} now).",
            self.editor.phrasings: "\n".join(p["question"] for p in entry["phrasings"]),
            self.new_phrasing: "",
        }

    def delete(self, loaded, request: gr.Request) -> dict:
        editor = self.editor
        hide = {editor.confirm_row: gr.Row(visible=False)}
        if loaded is None:
            return {**hide, editor.result: OPEN_FIRST}
        try:
            self.client_for(request).delete_knowledge(loaded)
        except ApiError as exc:
            return {**hide, editor.result: exc.explain()}
        # "Added entry #12" under the form would outlive entry #12: the form's line goes with it.
        gone = {editor.result: f"Deleted entry #{int(loaded)}.", self.create["result"]: ""}
        return {**hide, **gone, editor.group: gr.Group(visible=False), editor.loaded_id: None}

    def add_entry(self, text, questions_text, request: gr.Request) -> dict:
        """Add the entry and open it in the editor, so the editor shows the entry its title names."""
        create, questions = self.create, views.phrasing_lines(questions_text)
        if not (text or "").strip() or not questions:
            return {create["result"]: "An entry needs an answer and at least one question."}
        try:
            entry = self.client_for(request).create_knowledge(text.strip(), questions)
        except ApiError as exc:
            return {create["result"]: exc.explain()}
        added = f"Added entry #{int(entry['id'])}; it is open in the editor above."
        return {create["result"]: added, create["answer"]: "", create["questions"]: "", **self.editor.opened(entry)}


def build(client_for: ClientFor, refresh_list: dict[str, Any]) -> EntryEditor:
    """The editor, then the "Add an entry by hand" form; each change refreshes the list with `refresh_list`."""
    loaded_id = gr.State(None)
    with gr.Group(visible=False) as group:
        title = gr.Markdown(elem_id="kb-entry-title")
        answer = gr.Textbox(label="Answer", lines=3, elem_id="kb-edit-answer")
        phrasings = gr.Textbox(label="Phrasings (one per line)", lines=4, elem_id="kb-edit-phrasings")
        with gr.Row(elem_classes="button-row"):
            save = gr.Button("Save changes", variant="primary", elem_id="kb-save")
            delete = gr.Button("Delete entry…", variant="stop", elem_id="kb-delete")
        with gr.Row(elem_classes="action-row"):
            new_phrasing = gr.Textbox(label="New phrasing", scale=4, elem_id="kb-new-phrasing")
            add_phrasing = gr.Button("Add phrasing", scale=0, min_width=140, elem_id="kb-add-phrasing")
        with gr.Row(visible=False, elem_classes="action-row") as confirm_row:
            confirm_text = gr.Markdown()
            confirm_yes = gr.Button("Yes, delete it", variant="stop", scale=0, min_width=140, elem_id="kb-delete-yes")
            confirm_no = gr.Button("Cancel", scale=0, min_width=110, elem_id="kb-delete-no")
    result = gr.Markdown(elem_id="kb-result")  # under the editor's buttons: in view of what was pressed
    editor = EntryEditor(group, title, answer, phrasings, loaded_id, confirm_row, result)
    with gr.Accordion("Add an entry by hand", open=False):
        create: dict[str, Any] = {
            "answer": gr.Textbox(label="Answer", lines=3, elem_id="kb-create-answer"),
            "questions": gr.Textbox(label="Questions (one per line)", lines=3, elem_id="kb-create-questions"),
            "button": gr.Button("Add entry", elem_id="kb-create"),
            "result": gr.Markdown(elem_id="kb-create-result"),
        }
    act = EditorActions(client_for, editor, new_phrasing, create)
    save.click(act.save, [loaded_id, answer, phrasings], [result, phrasings]).then(**refresh_list)
    added = [result, phrasings, new_phrasing]
    add_phrasing.click(act.add_phrasing, [loaded_id, new_phrasing], added).then(**refresh_list)

    def ask_to_confirm(loaded):
        if loaded is None:
            return {confirm_row: gr.Row(visible=False), result: OPEN_FIRST}
        question = f"**Delete entry #{int(loaded)}?** Callers stop getting its answer at once. This cannot be undone."
        return {confirm_row: gr.Row(visible=True), confirm_text: question, result: ""}

    delete.click(ask_to_confirm, [loaded_id], [confirm_row, confirm_text, result])
    confirm_no.click(lambda: {confirm_row: gr.Row(visible=False), result: "Not deleted."}, None, [confirm_row, result])
    deleted = [confirm_row, result, create["result"], group, loaded_id]
    confirm_yes.click(act.delete, [loaded_id], deleted).then(**refresh_list)
    created = [create["result"], create["answer"], create["questions"], *editor.outputs]
    create["button"].click(act.add_entry, [create["answer"], create["questions"]], created).then(**refresh_list)
    return editor

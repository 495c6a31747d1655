"""Knowledge base tab: search by meaning, list, edit an answer and its phrasings, delete, add by hand."""

from __future__ import annotations

from typing import Any

import gradio as gr

from supervisor_gradio import views, widgets
from supervisor_gradio.api import ApiError, ClientFor


def build(client_for: ClientFor, tab: gr.Tab) -> None:
    shown_ids = gr.State([])
    # The entry the editor holds, set only by opening or adding one: Save, Add phrasing and Delete act on it alone.
    loaded_id = gr.State(None)
    with gr.Row(elem_classes="action-row"):
        query = gr.Textbox(label="Search by meaning", scale=4, elem_id="kb-query")
        search = gr.Button("Search", scale=0, min_width=110, elem_id="kb-search")
        list_all_button = gr.Button("List all", scale=0, min_width=110, elem_id="kb-all")
    note = gr.Markdown(elem_id="kb-note")
    show_all = gr.Button(visible=False, size="sm", elem_id="kb-show-all")
    table = widgets.read_only_table(
        views.KNOWLEDGE_HEADERS, "kb-table", views.KNOWLEDGE_WIDTHS, label="Entries (click a row to edit it)"
    )
    with gr.Group(visible=False) as editor:  # shown once an entry is open: nothing to save or delete before
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
    with gr.Accordion("Add an entry by hand", open=False):
        create_answer = gr.Textbox(label="Answer", lines=3, elem_id="kb-create-answer")
        create_questions = gr.Textbox(label="Questions (one per line)", lines=3, elem_id="kb-create-questions")
        create = gr.Button("Add entry", elem_id="kb-create")
        create_result = gr.Markdown(elem_id="kb-create-result")

    def list_entries(text, everything, request: gr.Request):
        """A search shows the relevant entries (views.relevant), with a button for the rest; a list shows all."""
        text = (text or "").strip()
        try:
            page = client_for(request).knowledge(q=text or None, limit=200)
        except ApiError as exc:
            return exc.explain(), gr.skip(), gr.skip(), gr.skip()
        items, hidden = page["items"], gr.Button(visible=False)
        if not text:
            summary = views.plural(page["total"], "entry", "entries")
            if page["total"] > len(items):
                summary += f" (first {len(items)} shown)"
            headers, widths = views.KNOWLEDGE_HEADERS, views.KNOWLEDGE_WIDTHS
        else:
            close = items if everything else [e for e in items if views.relevant(e, text)]
            if everything:
                summary = f"All {views.plural(len(items), 'entry', 'entries')}, nearest in meaning first."
            elif close:
                summary = f"{len(close)} of {len(items)} entries match, nearest in meaning first."
            else:
                summary = "No entry comes close to that."
            if len(close) < len(items):
                hidden = gr.Button(visible=True, value=f"Show all {len(items)} entries, nearest first")
            items, headers, widths = close, views.SEARCH_HEADERS, views.SEARCH_WIDTHS
        rows = [views.knowledge_row(e) for e in items]
        return (
            summary,
            hidden,
            gr.Dataframe(value=rows, headers=headers, column_widths=widths),
            [e["id"] for e in items],
        )

    def list_relevant(text, request: gr.Request):
        return list_entries(text, False, request)

    def list_everything(text, request: gr.Request):
        return list_entries(text, True, request)

    listed = [note, show_all, table, shown_ids]
    refresh_list: dict[str, Any] = {"fn": list_relevant, "inputs": [query], "outputs": listed}
    for trigger in (search.click, query.submit, tab.select):
        trigger(**refresh_list)
    show_all.click(list_everything, [query], listed)

    def list_all(request: gr.Request):
        return ("", *list_entries("", False, request))

    list_all_button.click(list_all, None, [query, *listed])

    def opened_entry(entry: dict, message: str = "") -> tuple:
        used = views.local_time(entry.get("last_used_at")) or "never"
        hits = views.plural(int(entry["hit_count"]), "time")
        return (
            gr.Group(visible=True),
            f"**Entry #{int(entry['id'])}** · used {hits}, last used {used}",
            entry["answer"],
            "\n".join(p["question"] for p in entry["phrasings"]),
            entry["id"],
            gr.Row(visible=False),
            message,
        )

    opened = [editor, title, answer, phrasings, loaded_id, confirm_row, result]

    def open_row(ids, event: gr.SelectData, request: gr.Request):
        knowledge_id = views.id_at_row(ids, event.index)
        if knowledge_id is None:
            return [gr.skip()] * len(opened)
        try:
            return opened_entry(client_for(request).knowledge_entry(knowledge_id))
        except ApiError as exc:
            return (gr.Group(visible=False), "", "", "", None, gr.Row(visible=False), exc.explain())

    table.select(open_row, [shown_ids], opened)

    def save_entry(loaded, text, phrasings_text, request: gr.Request):
        questions = views.phrasing_lines(phrasings_text)
        if loaded is None:
            return "Open an entry first: click its row.", gr.skip()
        if not questions or not (text or "").strip():
            return "An entry needs an answer and at least one phrasing.", gr.skip()
        try:
            entry = client_for(request).update_knowledge(loaded, text.strip(), questions)
        except ApiError as exc:
            return exc.explain(), gr.skip()
        return (
            f"✅ Saved entry #{entry['id']} ({views.plural(len(entry['phrasings']), 'phrasing')}).",
            "\n".join(p["question"] for p in entry["phrasings"]),
        )

    save.click(save_entry, [loaded_id, answer, phrasings], [result, phrasings]).then(**refresh_list)

    def add_one_phrasing(loaded, phrasing, request: gr.Request):
        if loaded is None:
            return "Open an entry first: click its row.", gr.skip(), gr.skip()
        if not (phrasing or "").strip():
            return "Type the new phrasing first.", gr.skip(), gr.skip()
        client = client_for(request)
        try:
            current = [p["question"] for p in client.knowledge_entry(loaded)["phrasings"]]
            entry = client.update_knowledge(loaded, questions=views.phrasing_lines("\n".join([*current, phrasing])))
        except ApiError as exc:
            return exc.explain(), gr.skip(), gr.skip()
        return (
            f"✅ Added a phrasing to entry #{entry['id']} ({views.plural(len(entry['phrasings']), 'phrasing')} now).",
            "\n".join(p["question"] for p in entry["phrasings"]),
            "",
        )

    add_phrasing.click(add_one_phrasing, [loaded_id, new_phrasing], [result, phrasings, new_phrasing]).then(
        **refresh_list
    )

    def ask_to_confirm(loaded):
        if loaded is None:
            return gr.Row(visible=False), "", "Open an entry first: click its row."
        return (
            gr.Row(visible=True),
            f"**Delete entry #{int(loaded)}?** Callers stop getting its answer at once. This cannot be undone.",
            "",
        )

    delete.click(ask_to_confirm, [loaded_id], [confirm_row, confirm_text, result])
    confirm_no.click(lambda: (gr.Row(visible=False), "Not deleted."), None, [confirm_row, result])

    def delete_entry(loaded, request: gr.Request):
        if loaded is None:
            return gr.Row(visible=False), "Open an entry first: click its row.", gr.skip(), gr.skip()
        try:
            client_for(request).delete_knowledge(loaded)
        except ApiError as exc:
            return gr.Row(visible=False), exc.explain(), gr.skip(), gr.skip()
        return gr.Row(visible=False), f"🗑️ Deleted entry #{int(loaded)}.", gr.Group(visible=False), None

    confirm_yes.click(delete_entry, [loaded_id], [confirm_row, result, editor, loaded_id]).then(**refresh_list)

    def create_entry(text, questions_text, request: gr.Request):
        """Add the entry and open it in the editor, so the editor shows the entry its title names."""
        questions = views.phrasing_lines(questions_text)
        if not (text or "").strip() or not questions:
            return "An entry needs an answer and at least one question.", *[gr.skip()] * (2 + len(opened))
        try:
            entry = client_for(request).create_knowledge(text.strip(), questions)
        except ApiError as exc:
            return exc.explain(), *[gr.skip()] * (2 + len(opened))
        return (f"✅ Added entry #{entry['id']}; it is open in the editor above.", "", "", *opened_entry(entry))

    created = [create_result, create_answer, create_questions, *opened]
    create.click(create_entry, [create_answer, create_questions], created).then(**refresh_list)

"""Knowledge base tab: search by meaning, list, edit an answer and its phrasings, delete, add by hand."""

from __future__ import annotations

import gradio as gr

from supervisor_gradio import views
from supervisor_gradio.api import ApiError, ClientFor


def build(client_for: ClientFor, tab: gr.Tab) -> None:
    shown_ids = gr.State([])
    # The entry whose text the editor holds. Save writes only there, and only while the Entry # box shows it:
    # a number typed or set without opening would otherwise receive another entry's text.
    loaded_id = gr.State(None)
    with gr.Row(elem_classes="action-row"):
        query = gr.Textbox(label="Search by meaning", scale=4, elem_id="kb-query")
        search = gr.Button("Search", scale=0, min_width=110, elem_id="kb-search")
        list_all_button = gr.Button("List all", scale=0, min_width=110, elem_id="kb-all")
    note = gr.Markdown(elem_id="kb-note")
    table = gr.Dataframe(
        headers=views.KNOWLEDGE_HEADERS,
        datatype="str",
        interactive=False,
        wrap=True,
        label="Entries (click a row to edit it)",
        elem_id="kb-table",
        column_widths=["6%", "38%", "34%", "6%", "10%", "6%"],
    )
    with gr.Group():
        with gr.Row(elem_classes="action-row"):
            entry_id = gr.Textbox(
                label="Entry #", placeholder="click a row above, or type a number", elem_id="kb-entry-id", scale=1
            )
            open_button = gr.Button("Open", scale=0, min_width=110, elem_id="kb-open")
        answer = gr.Textbox(label="Answer", lines=3, elem_id="kb-edit-answer")
        phrasings = gr.Textbox(label="Phrasings (one per line)", lines=4, elem_id="kb-edit-phrasings")
        save = gr.Button("Save changes", variant="primary", elem_id="kb-save")
        with gr.Row(elem_classes="action-row"):
            new_phrasing = gr.Textbox(label="New phrasing", scale=4, elem_id="kb-new-phrasing")
            add_phrasing = gr.Button("Add phrasing", scale=0, min_width=140, elem_id="kb-add-phrasing")
        delete = gr.Button("Delete entry…", variant="stop", elem_id="kb-delete")
        with gr.Row(visible=False, elem_classes="action-row") as confirm_row:
            confirm_text = gr.Markdown()
            confirm_yes = gr.Button("Yes, delete it", variant="stop", scale=0, min_width=140, elem_id="kb-delete-yes")
            confirm_no = gr.Button("Cancel", scale=0, min_width=110, elem_id="kb-delete-no")
    result = gr.Markdown(elem_id="kb-result")
    with gr.Accordion("Add an entry by hand", open=False):
        create_answer = gr.Textbox(label="Answer", lines=3, elem_id="kb-create-answer")
        create_questions = gr.Textbox(label="Questions (one per line)", lines=3, elem_id="kb-create-questions")
        create = gr.Button("Add entry", elem_id="kb-create")

    def list_entries(text, request: gr.Request):
        text = (text or "").strip()
        try:
            page = client_for(request).knowledge(q=text or None, limit=200)
        except ApiError as exc:
            return exc.explain(), gr.skip(), gr.skip()
        items = page["items"]
        if text:
            summary = f"{len(items)} nearest entries, best first"
        else:
            summary = f"{page['total']} entries" + (
                f" (first {len(items)} shown)" if page["total"] > len(items) else ""
            )
        return (
            summary,
            gr.Dataframe(value=[views.knowledge_row(e) for e in items], headers=views.KNOWLEDGE_HEADERS),
            [e["id"] for e in items],
        )

    listed = [note, table, shown_ids]
    refresh_list = {"fn": list_entries, "inputs": [query], "outputs": listed}
    search.click(list_entries, [query], listed)
    query.submit(list_entries, [query], listed)
    tab.select(list_entries, [query], listed)

    def list_all(request: gr.Request):
        return ("", *list_entries("", request))

    list_all_button.click(list_all, None, [query, *listed])

    def open_entry(knowledge_id, request: gr.Request):
        knowledge_id = views.as_id(knowledge_id)
        if knowledge_id is None:
            return gr.skip(), gr.skip(), "Type an entry number or click a row.", gr.skip()
        try:
            entry = client_for(request).knowledge_entry(knowledge_id)
        except ApiError as exc:
            return "", "", exc.explain(), None
        used = views.local_time(entry.get("last_used_at")) or "never"
        return (
            entry["answer"],
            "\n".join(p["question"] for p in entry["phrasings"]),
            f"Entry #{entry['id']}: used {entry['hit_count']} times, last used {used}.",
            entry["id"],
        )

    opened = [answer, phrasings, result, loaded_id]
    open_button.click(open_entry, [entry_id], opened)
    entry_id.submit(open_entry, [entry_id], opened)

    def pick_row(ids, event: gr.SelectData):
        picked = views.id_at_row(ids, event.index)
        return gr.skip() if picked is None else str(picked)

    table.select(pick_row, [shown_ids], [entry_id]).then(open_entry, [entry_id], opened)

    def save_entry(knowledge_id, loaded, text, phrasings_text, request: gr.Request):
        knowledge_id = views.as_id(knowledge_id)
        questions = views.phrasing_lines(phrasings_text)
        if knowledge_id is None or loaded is None:
            return "Open an entry first.", gr.skip()
        if knowledge_id != loaded:
            return (
                f"Nothing saved: the editor holds entry #{loaded}, not #{knowledge_id}. "
                f"Press Open to load entry #{knowledge_id} first.",
                gr.skip(),
            )
        if not questions or not (text or "").strip():
            return "An entry needs an answer and at least one phrasing.", gr.skip()
        try:
            entry = client_for(request).update_knowledge(knowledge_id, text.strip(), questions)
        except ApiError as exc:
            return exc.explain(), gr.skip()
        return (
            f"✅ Saved entry #{entry['id']} ({len(entry['phrasings'])} phrasings).",
            "\n".join(p["question"] for p in entry["phrasings"]),
        )

    save.click(save_entry, [entry_id, loaded_id, answer, phrasings], [result, phrasings]).then(**refresh_list)

    def add_one_phrasing(knowledge_id, loaded, phrasing, request: gr.Request):
        knowledge_id = views.as_id(knowledge_id)
        if knowledge_id is None or loaded is None:
            return "Open an entry first.", gr.skip(), gr.skip()
        if knowledge_id != loaded:  # the phrasings box would show one entry's phrasings under another's answer
            return (
                f"The editor holds entry #{loaded}: press Open to load entry #{knowledge_id} first.",
                gr.skip(),
                gr.skip(),
            )
        if not (phrasing or "").strip():
            return "Type the new phrasing first.", gr.skip(), gr.skip()
        client = client_for(request)
        try:
            current = [p["question"] for p in client.knowledge_entry(knowledge_id)["phrasings"]]
            entry = client.update_knowledge(
                knowledge_id, questions=views.phrasing_lines("\n".join([*current, phrasing]))
            )
        except ApiError as exc:
            return exc.explain(), gr.skip(), gr.skip()
        return (
            f"✅ Added a phrasing to entry #{entry['id']} ({len(entry['phrasings'])} phrasings now).",
            "\n".join(p["question"] for p in entry["phrasings"]),
            "",
        )

    add_phrasing.click(add_one_phrasing, [entry_id, loaded_id, new_phrasing], [result, phrasings, new_phrasing]).then(
        **refresh_list
    )

    def ask_to_confirm(knowledge_id):
        knowledge_id = views.as_id(knowledge_id)
        if knowledge_id is None:
            return gr.Row(visible=False), "", "Open an entry first."
        return (
            gr.Row(visible=True),
            f"**Delete entry #{knowledge_id}?** Callers stop getting its answer at once. This cannot be undone.",
            "",
        )

    delete.click(ask_to_confirm, [entry_id], [confirm_row, confirm_text, result])
    confirm_no.click(lambda: (gr.Row(visible=False), "Not deleted."), None, [confirm_row, result])

    def delete_entry(knowledge_id, request: gr.Request):
        knowledge_id = views.as_id(knowledge_id)
        if knowledge_id is None:
            return gr.Row(visible=False), "Open an entry first.", *[gr.skip()] * 4
        try:
            client_for(request).delete_knowledge(knowledge_id)
        except ApiError as exc:
            return gr.Row(visible=False), exc.explain(), *[gr.skip()] * 4
        return gr.Row(visible=False), f"🗑️ Deleted entry #{knowledge_id}.", "", "", "", None

    confirm_yes.click(delete_entry, [entry_id], [confirm_row, result, entry_id, answer, phrasings, loaded_id]).then(
        **refresh_list
    )

    def create_entry(text, questions_text, request: gr.Request):
        """Add the entry and open it in the editor, so the editor shows the entry its number says."""
        questions = views.phrasing_lines(questions_text)
        if not (text or "").strip() or not questions:
            return "An entry needs an answer and at least one question.", *[gr.skip()] * 6
        try:
            entry = client_for(request).create_knowledge(text.strip(), questions)
        except ApiError as exc:
            return exc.explain(), *[gr.skip()] * 6
        return (
            f"✅ Added entry #{entry['id']}; it is open in the editor above.",
            "",
            "",
            str(entry["id"]),
            entry["answer"],
            "\n".join(p["question"] for p in entry["phrasings"]),
            entry["id"],
        )

    created = [result, create_answer, create_questions, entry_id, answer, phrasings, loaded_id]
    create.click(create_entry, [create_answer, create_questions], created).then(**refresh_list)

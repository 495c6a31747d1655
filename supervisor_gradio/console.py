"""The supervisor console: a Gradio Blocks app that works only through the service's HTTP API.

Caller and answer text only ever goes into Textbox, Dropdown and Dataframe ("str" cells) values, which the
browser shows as text. Markdown holds our own words and numbers, never caller text."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import gradio as gr

from supervisor_gradio import views
from supervisor_gradio.api import ApiClient, ApiError

ClientFor = Callable[[gr.Request], ApiClient]

EMPTY_QUEUE = "**No callers are waiting.** New questions show up here by themselves within a few seconds."
SUGGESTIONS = 3
CSS = """
#console-header { font-size: 1.05rem; }
#pending-empty { padding: 1rem 0; }
"""


def _failure(exc: ApiError) -> str:
    # Our own words plus the service's message, which names fields and ids, never caller text.
    return f"⚠️ The service said no ({exc.status_code or 'unreachable'}): `{exc.message[:300]}`"


def build_console(client_for: ClientFor, refresh_seconds: float = 3.0) -> gr.Blocks:
    with gr.Blocks(title="FrontDesk KB · Supervisor", analytics_enabled=False) as blocks:
        gr.Markdown("## FrontDesk KB · Supervisor console")
        header = gr.Markdown("Loading counts…", elem_id="console-header")
        timer = gr.Timer(refresh_seconds)
        suggestion_state = gr.State([])
        knowledge_ids = gr.State([])
        pending_ids = gr.State([])

        with gr.Tabs():
            with gr.Tab("Pending", id="pending"):
                empty = gr.Markdown(EMPTY_QUEUE, visible=False, elem_id="pending-empty")
                queue = gr.Dataframe(headers=views.PENDING_HEADERS, datatype="str", interactive=False, wrap=True,
                                     label="Waiting callers, oldest first (click a row to answer it)",
                                     elem_id="pending-table", column_widths=["9%", "35%", "20%", "12%", "12%", "12%"])
                with gr.Group():
                    selected = gr.Dropdown(label="Request to answer", choices=[], value=None,
                                           allow_custom_value=True, elem_id="pending-select")
                    question = gr.Textbox(label="Caller's question", interactive=False, elem_id="answer-caller-question")
                suggestions_title = gr.Markdown("**Suggestions**: the nearest answers already in the knowledge base. "
                                                "Using one adds this question to that entry.", visible=False)
                suggestion_rows, suggestion_boxes, suggestion_buttons = [], [], []
                for i in range(SUGGESTIONS):
                    with gr.Row(visible=False, equal_height=True) as row:
                        box = gr.Textbox(label=f"Suggestion {i + 1}", interactive=False, scale=5,
                                         elem_id=f"suggestion-{i}")
                        button = gr.Button("Use this answer", scale=1, elem_id=f"use-suggestion-{i}")
                    suggestion_rows.append(row)
                    suggestion_boxes.append(box)
                    suggestion_buttons.append(button)
                answer = gr.Textbox(label="Your answer", lines=3, elem_id="answer-text",
                                    placeholder="What should the caller be told?")
                corrected = gr.Textbox(label="Question to learn (optional: fix the caller's wording)",
                                       elem_id="answer-question")
                learn = gr.Checkbox(value=True, label="Learn this answer for next time", elem_id="answer-learn")
                send = gr.Button("Send answer", variant="primary", elem_id="answer-send")
                result = gr.Markdown(elem_id="answer-result")

            with gr.Tab("History", id="history") as history_tab:
                with gr.Row():
                    status_filter = gr.Radio(["all", "resolved", "unresolved"], value="all", label="Status",
                                             elem_id="history-status")
                    search = gr.Textbox(label="Search (question, answer, who)", elem_id="history-search")
                    history_refresh = gr.Button("Refresh", elem_id="history-refresh")
                history_note = gr.Markdown(elem_id="history-note")
                history = gr.Dataframe(headers=views.HISTORY_HEADERS, datatype="str", interactive=False,
                                       wrap=True, elem_id="history-table")

            with gr.Tab("Knowledge base", id="knowledge") as knowledge_tab:
                with gr.Row():
                    kb_query = gr.Textbox(label="Search by meaning", scale=4, elem_id="kb-query")
                    kb_search = gr.Button("Search", scale=1, elem_id="kb-search")
                    kb_all = gr.Button("List all", scale=1, elem_id="kb-all")
                kb_note = gr.Markdown(elem_id="kb-note")
                kb_table = gr.Dataframe(headers=views.KNOWLEDGE_HEADERS, datatype="str", interactive=False,
                                        wrap=True, label="Entries (click a row to edit it)", elem_id="kb-table")
                with gr.Group():
                    with gr.Row():
                        entry_id = gr.Number(label="Entry", precision=0, elem_id="kb-entry-id", scale=1)
                        entry_open = gr.Button("Open", scale=1, elem_id="kb-open")
                    entry_answer = gr.Textbox(label="Answer", lines=3, elem_id="kb-edit-answer")
                    entry_phrasings = gr.Textbox(label="Phrasings (one per line)", lines=4,
                                                 elem_id="kb-edit-phrasings")
                    entry_save = gr.Button("Save changes", variant="primary", elem_id="kb-save")
                    with gr.Row():
                        new_phrasing = gr.Textbox(label="New phrasing", scale=4, elem_id="kb-new-phrasing")
                        add_phrasing = gr.Button("Add phrasing", scale=1, elem_id="kb-add-phrasing")
                    entry_delete = gr.Button("Delete entry…", variant="stop", elem_id="kb-delete")
                    with gr.Row(visible=False) as confirm_row:
                        confirm_text = gr.Markdown()
                        confirm_yes = gr.Button("Yes, delete it", variant="stop", elem_id="kb-delete-yes")
                        confirm_no = gr.Button("Cancel", elem_id="kb-delete-no")
                kb_result = gr.Markdown(elem_id="kb-result")
                with gr.Accordion("Add an entry by hand", open=False):
                    create_answer = gr.Textbox(label="Answer", lines=3, elem_id="kb-create-answer")
                    create_questions = gr.Textbox(label="Questions (one per line)", lines=3,
                                                  elem_id="kb-create-questions")
                    create = gr.Button("Add entry", elem_id="kb-create")

        # ---- pending queue

        queue_outputs = [header, queue, empty, selected, pending_ids]

        def refresh_queue(current, request: gr.Request):
            """Only the table, counts and choices change: what the supervisor is typing is left alone."""
            client = client_for(request)
            try:
                items = client.pending()
                counts = views.header_markdown(client.dashboard())
            except ApiError as exc:
                return _failure(exc), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            at = datetime.now(UTC)
            choices = [views.pending_choice(item) for item in items]
            ids = [item["id"] for item in items]
            current_id = _as_id(current)
            if current_id is not None and current_id not in ids:
                choices.append((f"#{current_id} · no longer pending", current_id))
            rows = [views.pending_row(item, at) for item in items]
            return (counts, gr.Dataframe(value=rows, headers=views.PENDING_HEADERS), gr.Markdown(visible=not items),
                    gr.Dropdown(choices=choices), ids)

        def open_request(current, request: gr.Request):
            help_request_id = _as_id(current)
            hidden = [gr.Markdown(visible=False)] + [gr.Row(visible=False)] * SUGGESTIONS \
                + [gr.Textbox(value="")] * SUGGESTIONS
            if help_request_id is None:
                return ["", "", []] + hidden + [gr.skip()]
            client = client_for(request)
            try:
                item = client.help_request(help_request_id)
                found = client.knowledge(q=item["question"], limit=SUGGESTIONS)["items"]
            except ApiError as exc:
                return ["", "", []] + hidden + [_failure(exc)]
            rows, boxes = [], []
            for i in range(SUGGESTIONS):
                if i < len(found):
                    entry = found[i]
                    rows.append(gr.Row(visible=True))
                    boxes.append(gr.Textbox(value=entry["answer"],
                                            label=f"Suggestion {i + 1} · entry #{entry['id']} · "
                                                  f"score {entry['score']:.2f}"))
                else:
                    rows.append(gr.Row(visible=False))
                    boxes.append(gr.Textbox(value="", label=f"Suggestion {i + 1}"))
            # A fresh pending request clears the last message; otherwise keep it (it may explain a 409).
            note = "" if item["status"] == "pending" else gr.skip()
            state = [{"id": e["id"], "answer": e["answer"]} for e in found]
            return [item["question"], "", state, gr.Markdown(visible=bool(found))] + rows + boxes + [note]

        open_outputs = [question, corrected, suggestion_state, suggestions_title, *suggestion_rows,
                        *suggestion_boxes, result]

        def select_row(ids, event: gr.SelectData):
            row = event.index[0] if isinstance(event.index, list | tuple) else event.index
            return ids[row] if isinstance(row, int) and 0 <= row < len(ids) else gr.skip()

        def resolve(current, text, corrected_text, learn_it, knowledge_id, request: gr.Request):
            help_request_id = _as_id(current)
            if help_request_id is None:
                return "Pick a request from the queue first.", gr.skip(), gr.skip(), gr.skip()
            if not (text or "").strip():
                return "Write an answer first (or use a suggestion).", gr.skip(), gr.skip(), gr.skip()
            try:
                response = client_for(request).resolve(help_request_id, text.strip(), (corrected_text or "").strip()
                                                       or None, bool(learn_it), knowledge_id)
            except ApiError as exc:
                if exc.status_code == 409:
                    return (f"⚠️ **Request #{help_request_id} was already answered or closed by someone else.** "
                            "Your answer was not sent; it is still in the box if you need it.",
                            gr.skip(), gr.skip(), gr.skip())
                return _failure(exc), gr.skip(), gr.skip(), gr.skip()
            sent = int(response["followups_queued"])
            learned = ""
            if learn_it and response.get("knowledge_id") is not None:
                learned = (f" The question was added as a new phrasing of entry #{response['knowledge_id']}."
                           if knowledge_id is not None else
                           f" Learned as knowledge entry #{response['knowledge_id']}.")
            followed = (f"Follow-up sent to {sent} waiting caller{'s' if sent != 1 else ''}."
                        if sent else "No caller was waiting, so no follow-up was needed.")
            return f"✅ Request #{help_request_id} resolved. {followed}{learned}", "", "", None

        resolve_outputs = [result, answer, corrected, selected]
        after = {"fn": refresh_queue, "inputs": [selected], "outputs": queue_outputs}
        reopen = {"fn": open_request, "inputs": [selected], "outputs": open_outputs}

        def send_answer(current, text, corrected_text, learn_it, request: gr.Request):
            return resolve(current, text, corrected_text, learn_it, None, request)

        send.click(send_answer, [selected, answer, corrected, learn], resolve_outputs).then(**after).then(**reopen)
        for i, button in enumerate(suggestion_buttons):
            def use(current, corrected_text, learn_it, suggestions, request: gr.Request, i=i):
                if i >= len(suggestions):
                    return "That suggestion is gone; pick the request again.", gr.skip(), gr.skip(), gr.skip()
                chosen = suggestions[i]
                return resolve(current, chosen["answer"], corrected_text, learn_it, chosen["id"], request)
            button.click(use, [selected, corrected, learn, suggestion_state], resolve_outputs).then(**after).then(**reopen)

        selected.input(open_request, [selected], open_outputs)
        queue.select(select_row, [pending_ids], [selected]).then(open_request, [selected], open_outputs)
        timer.tick(refresh_queue, [selected], queue_outputs, show_progress="hidden", api_visibility="private")
        blocks.load(refresh_queue, [selected], queue_outputs)

        # ---- history

        def load_history(status, text, request: gr.Request):
            wanted = None if status == "all" else status
            try:
                items = client_for(request).all_help_requests(wanted)
            except ApiError as exc:
                return _failure(exc), gr.skip()
            items = [item for item in items if item["status"] != "pending" and views.matches(item, text or "")]
            note = f"{len(items)} request{'s' if len(items) != 1 else ''}" if items else "Nothing matches."
            return note, gr.Dataframe(value=[views.history_row(i) for i in items], headers=views.HISTORY_HEADERS)

        history_inputs = [status_filter, search]
        for trigger in (history_tab.select, status_filter.change, search.submit, history_refresh.click):
            trigger(load_history, history_inputs, [history_note, history])

        # ---- knowledge base

        def list_knowledge(query, request: gr.Request):
            try:
                page = client_for(request).knowledge(q=(query or "").strip() or None, limit=200)
            except ApiError as exc:
                return _failure(exc), gr.skip(), gr.skip()
            items = page["items"]
            note = (f"{len(items)} nearest entries" if (query or "").strip() else
                    f"{page['total']} entries" + (f" (first {len(items)} shown)" if page["total"] > len(items) else ""))
            return (note, gr.Dataframe(value=[views.knowledge_row(e) for e in items],
                                       headers=views.KNOWLEDGE_HEADERS), [e["id"] for e in items])

        kb_list_outputs = [kb_note, kb_table, knowledge_ids]
        kb_search.click(list_knowledge, [kb_query], kb_list_outputs)
        kb_query.submit(list_knowledge, [kb_query], kb_list_outputs)
        def list_all(request: gr.Request):
            return list_knowledge("", request)

        kb_all.click(list_all, None, kb_list_outputs).then(lambda: "", None, kb_query)
        knowledge_tab.select(list_knowledge, [kb_query], kb_list_outputs)

        def open_entry(knowledge_id, request: gr.Request):
            if knowledge_id is None:
                return gr.skip(), gr.skip(), "Type an entry number or click a row."
            try:
                entry = client_for(request).knowledge_entry(int(knowledge_id))
            except ApiError as exc:
                return "", "", _failure(exc)
            phrasings = "\n".join(p["question"] for p in entry["phrasings"])
            used = views.local_time(entry.get("last_used_at")) or "never"
            return (entry["answer"], phrasings,
                    f"Entry #{entry['id']}: used {entry['hit_count']} times, last used {used}.")

        entry_outputs = [entry_answer, entry_phrasings, kb_result]
        entry_open.click(open_entry, [entry_id], entry_outputs)
        kb_table.select(select_row, [knowledge_ids], [entry_id]).then(open_entry, [entry_id], entry_outputs)

        def save_entry(knowledge_id, text, phrasings_text, request: gr.Request):
            if knowledge_id is None:
                return "Open an entry first.", gr.skip()
            questions = views.phrasing_lines(phrasings_text)
            if not questions:
                return "An entry needs at least one phrasing.", gr.skip()
            try:
                entry = client_for(request).update_knowledge(int(knowledge_id), (text or "").strip(), questions)
            except ApiError as exc:
                return _failure(exc), gr.skip()
            return (f"✅ Saved entry #{entry['id']} ({len(entry['phrasings'])} phrasings).",
                    "\n".join(p["question"] for p in entry["phrasings"]))

        entry_save.click(save_entry, [entry_id, entry_answer, entry_phrasings], [kb_result, entry_phrasings]) \
            .then(list_knowledge, [kb_query], kb_list_outputs)

        def add_one_phrasing(knowledge_id, phrasing, request: gr.Request):
            if knowledge_id is None:
                return "Open an entry first.", gr.skip(), gr.skip()
            if not (phrasing or "").strip():
                return "Type the new phrasing first.", gr.skip(), gr.skip()
            client = client_for(request)
            try:
                current = [p["question"] for p in client.knowledge_entry(int(knowledge_id))["phrasings"]]
                entry = client.update_knowledge(int(knowledge_id),
                                                questions=views.phrasing_lines("\n".join([*current, phrasing])))
            except ApiError as exc:
                return _failure(exc), gr.skip(), gr.skip()
            return (f"✅ Added a phrasing to entry #{entry['id']} ({len(entry['phrasings'])} phrasings now).",
                    "\n".join(p["question"] for p in entry["phrasings"]), "")

        add_phrasing.click(add_one_phrasing, [entry_id, new_phrasing], [kb_result, entry_phrasings, new_phrasing]) \
            .then(list_knowledge, [kb_query], kb_list_outputs)

        def ask_delete(knowledge_id):
            if knowledge_id is None:
                return gr.Row(visible=False), "", "Open an entry first."
            return (gr.Row(visible=True), f"**Delete entry #{int(knowledge_id)}?** Callers stop getting its answer "
                                          "at once. This cannot be undone.", "")

        entry_delete.click(ask_delete, [entry_id], [confirm_row, confirm_text, kb_result])
        confirm_no.click(lambda: (gr.Row(visible=False), "Not deleted."), None, [confirm_row, kb_result])

        def delete_entry(knowledge_id, request: gr.Request):
            if knowledge_id is None:
                return gr.Row(visible=False), "Open an entry first.", gr.skip(), gr.skip(), gr.skip()
            try:
                client_for(request).delete_knowledge(int(knowledge_id))
            except ApiError as exc:
                return gr.Row(visible=False), _failure(exc), gr.skip(), gr.skip(), gr.skip()
            return gr.Row(visible=False), f"🗑️ Deleted entry #{int(knowledge_id)}.", None, "", ""

        confirm_yes.click(delete_entry, [entry_id],
                          [confirm_row, kb_result, entry_id, entry_answer, entry_phrasings]) \
            .then(list_knowledge, [kb_query], kb_list_outputs)

        def create_entry(text, questions_text, request: gr.Request):
            questions = views.phrasing_lines(questions_text)
            if not (text or "").strip() or not questions:
                return "An entry needs an answer and at least one question.", gr.skip(), gr.skip(), gr.skip()
            try:
                entry = client_for(request).create_knowledge(text.strip(), questions)
            except ApiError as exc:
                return _failure(exc), gr.skip(), gr.skip(), gr.skip()
            return f"✅ Added entry #{entry['id']}.", "", "", entry["id"]

        create.click(create_entry, [create_answer, create_questions],
                     [kb_result, create_answer, create_questions, entry_id]) \
            .then(list_knowledge, [kb_query], kb_list_outputs)

    blocks.queue(default_concurrency_limit=4)
    return blocks


def _as_id(value) -> int | None:
    """The dropdown's value: an id, or None. A typed custom value that isn't a number is no selection."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(str(value).lstrip("#").split(" ")[0])
    except ValueError:
        return None

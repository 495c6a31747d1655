"""Pending tab (the landing one): the queue, oldest first, with each call's earlier questions; the form that
answers or dismisses the request picked; several at once; and the similar waiting questions after an answer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import gradio as gr

from supervisor_gradio import alerts, answer_form, bulk_panel, similar_panel, suggestions, views, widgets
from supervisor_gradio.api import ApiClient, ApiError, ClientFor, author

EMPTY_QUEUE = "**No callers are waiting.** New questions show up here by themselves within a few seconds."


def header_text(client: ApiClient) -> str:
    """The console header: today's counts and the live precision of auto-answers."""
    return views.header_markdown(client.dashboard(), client.quality())


def build(client_for: ClientFor, header: gr.Markdown, signal: gr.Markdown, timer: gr.Timer, blocks: gr.Blocks) -> None:
    shown_ids = gr.State([])
    empty = gr.Markdown(EMPTY_QUEUE, visible=False, elem_id="pending-empty")
    queue = widgets.read_only_table(
        views.PENDING_HEADERS,
        "pending-table",
        views.PENDING_WIDTHS,
        label="Waiting callers, oldest first (click a row to answer it)",
    )
    bulk, bulk_events = bulk_panel.build(client_for)
    with gr.Group():
        selected = gr.Dropdown(
            label="Request to answer", choices=[], value=None, allow_custom_value=True, elem_id="pending-select"
        )
        question = gr.Textbox(label="Caller's question", interactive=False, elem_id="answer-caller-question")
    offered = suggestions.build()
    form = answer_form.build()
    result = gr.Markdown(elem_id="answer-result")
    answered = gr.State(None)  # the request just answered: its similar waiting questions are offered next

    def refresh(current, before, request: gr.Request):
        """Only the table, counts and choices change: what the supervisor is typing or ticking is left alone."""
        client = client_for(request)
        try:
            items = client.pending()
            counts = header_text(client)
        except ApiError as exc:
            return {header: exc.explain()}
        at = datetime.now(UTC)
        ids = [item["id"] for item in items]
        updates = {
            header: counts,
            queue: gr.Dataframe(value=[views.pending_row(i, at) for i in items], headers=views.PENDING_HEADERS),
            empty: gr.Markdown(visible=not items),
            signal: alerts.signal_text(items),
        }
        if ids != before:  # new choices only when the queue changed, so an open list or a tick is not redrawn
            choices = [views.pending_choice(item) for item in items]
            current_id = views.as_id(current)
            if current_id is not None and current_id not in ids:
                choices.append((f"#{current_id} · no longer pending", current_id))
            updates.update({selected: gr.Dropdown(choices=choices), shown_ids: ids})
            updates[bulk.picks] = gr.CheckboxGroup(choices=bulk_panel.choices(items))
        return updates

    after: dict[str, Any] = {
        "fn": refresh,
        "inputs": [selected, shown_ids],
        "outputs": [header, queue, empty, signal, selected, shown_ids, bulk.picks],
    }

    def open_request(current, filled_for, request: gr.Request):
        """Show the request, its call so far and its suggestions; a request other than the form's gets a fresh one."""
        help_request_id = views.as_id(current)
        keep = help_request_id is not None and help_request_id == filled_for
        updates = {**offered.hidden(), **({} if keep else form.fresh(help_request_id))}
        if help_request_id is None:
            return {**updates, question: "", form.column: gr.Column(visible=False)}
        client = client_for(request)
        try:
            item = client.help_request(help_request_id)
            updates.update(offered.fill(client, item["question"]))
        except ApiError as exc:
            return {**updates, question: "", result: exc.explain(), form.column: gr.Column(visible=False)}
        line = views.transcript_line(item.get("transcript") or [])
        updates.update(
            {
                question: item["question"],
                form.reference: views.references(item),
                form.transcript: gr.Textbox(value=line, visible=bool(line)),
            }
        )
        if item["status"] == "pending":  # a fresh request clears the last message and shows the form
            updates.update({result: "", form.column: gr.Column(visible=True)})
        # A request answered elsewhere keeps the form as it was: after a 409 the answer typed is still there.
        return updates

    reopen: dict[str, Any] = {
        "fn": open_request,
        "inputs": [selected, form.filled_for],
        "outputs": [
            question,
            *offered.outputs,
            form.answer,
            form.corrected,
            form.learn,
            form.filled_for,
            form.reference,
            form.transcript,
            result,
            form.column,
        ],
    }

    def resolve(current, text, corrected_text, learn_it, knowledge_id, request: gr.Request) -> dict:
        help_request_id = views.as_id(current)
        if help_request_id is None:
            return {result: "Pick a request from the queue first.", answered: None}
        if not (text or "").strip():
            return {result: "Write an answer first (or use a suggestion).", answered: None}
        corrected_text = (corrected_text or "").strip() or None
        try:
            response = client_for(request).resolve(
                help_request_id, text.strip(), corrected_text, bool(learn_it), knowledge_id, author(request)
            )
        except ApiError as exc:
            return {result: answer_form.refused_text(help_request_id, exc), answered: None}
        return {
            result: answer_form.sent_text(help_request_id, response, knowledge_id),
            form.answer: "",
            form.corrected: "",
            selected: None,
            answered: help_request_id,
        }

    resolved = [result, form.answer, form.corrected, selected, answered]
    offer_similar = similar_panel.build(client_for, answered, result, after)

    def then_offer(event) -> None:
        event.then(**after).then(**reopen).then(**offer_similar).then(None, js=similar_panel.REVEAL)

    def send_answer(current, text, corrected_text, learn_it, request: gr.Request):
        return resolve(current, text, corrected_text, learn_it, None, request)

    then_offer(form.send.click(send_answer, [selected, form.answer, form.corrected, form.learn], resolved))

    for i, button in enumerate(offered.buttons):

        def use_suggestion(current, corrected_text, chosen, request: gr.Request, i=i):
            """Resolve with the entry's answer and `knowledge_id`: the question always becomes one of its phrasings
            (the page says so; "Learn this answer" is about a written answer)."""
            if i >= len(chosen):
                return {result: "That suggestion is gone; pick the request again.", answered: None}
            return resolve(current, chosen[i]["answer"], corrected_text, True, chosen[i]["id"], request)

        then_offer(button.click(use_suggestion, [selected, form.corrected, offered.offered], resolved))

    def dismiss(current, request: gr.Request):
        help_request_id = views.as_id(current)
        if help_request_id is None:
            return {result: "Pick a request from the queue first."}
        message = answer_form.dismiss_one(client_for(request), help_request_id, author(request))
        return {result: message, selected: None}

    form.dismiss.click(dismiss, [selected], [result, selected]).then(**after).then(**reopen)
    for event in bulk_events:
        event.then(**after)

    def pick_row(ids, event: gr.SelectData):
        picked = views.id_at_row(ids, event.index)
        return gr.skip() if picked is None else picked

    selected.input(**reopen)
    queue.select(pick_row, [shown_ids], [selected]).then(**reopen)
    timer.tick(**after, show_progress="hidden", api_visibility="private")
    blocks.load(**after)

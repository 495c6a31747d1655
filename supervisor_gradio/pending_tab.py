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


class PendingTab:
    """The tab's components, and one method per thing the supervisor (or the timer) does; each returns named
    updates (`{component: value}`)."""

    def __init__(self, client_for: ClientFor, header: gr.Markdown, signal: gr.Markdown):
        self.client_for, self.header, self.signal = client_for, header, signal
        self.shown_ids = gr.State([])
        self.empty = gr.Markdown(EMPTY_QUEUE, visible=False, elem_id="pending-empty")
        self.queue = widgets.read_only_table(
            views.PENDING_HEADERS,
            "pending-table",
            views.PENDING_WIDTHS,
            label="Waiting callers, oldest first (click a row to answer it)",
        )
        self.bulk, self.bulk_events = bulk_panel.build(client_for)
        with gr.Group():
            self.selected = gr.Dropdown(
                label="Request to answer", choices=[], value=None, allow_custom_value=True, elem_id="pending-select"
            )
            self.question = gr.Textbox(label="Caller's question", interactive=False, elem_id="answer-caller-question")
        self.offered = suggestions.build()
        self.form = answer_form.build()
        self.result = gr.Markdown(elem_id="answer-result")
        self.answered = gr.State(None)  # the request just answered: its similar waiting questions are offered next

    def refresh(self, current, before, request: gr.Request) -> dict:
        """Only the table, counts and choices change: what the supervisor is typing or ticking is left alone."""
        client = self.client_for(request)
        try:
            items = client.pending()
            counts = header_text(client)
        except ApiError as exc:
            return {self.header: exc.explain()}
        rows = [views.pending_row(item, datetime.now(UTC)) for item in items]
        updates = {
            self.header: counts,
            self.queue: gr.Dataframe(value=rows, headers=views.PENDING_HEADERS),
            self.empty: gr.Markdown(visible=not items),
            self.signal: alerts.signal_text(items),
        }
        ids = [item["id"] for item in items]
        if ids != before:  # new choices only when the queue changed, so an open list or a tick is not redrawn
            choices = [views.pending_choice(item) for item in items]
            current_id = views.as_id(current)
            if current_id is not None and current_id not in ids:
                choices.append((f"#{current_id} · no longer pending", current_id))
            updates.update({self.selected: gr.Dropdown(choices=choices), self.shown_ids: ids})
            updates[self.bulk.picks] = gr.CheckboxGroup(choices=bulk_panel.choices(items))
        return updates

    def open_request(self, current, filled_for, request: gr.Request) -> dict:
        """Show the request, its call so far and its suggestions; a request other than the form's gets a fresh one."""
        form, help_request_id = self.form, views.as_id(current)
        keep = help_request_id is not None and help_request_id == filled_for
        updates = {**self.offered.hidden(), **({} if keep else form.fresh(help_request_id))}
        closed = {self.question: "", form.column: gr.Column(visible=False)}
        if help_request_id is None:
            return {**updates, **closed}
        client = self.client_for(request)
        try:
            item = client.help_request(help_request_id)
            updates.update(self.offered.fill(client, item["question"]))
        except ApiError as exc:
            return {**updates, **closed, self.result: exc.explain()}
        line = views.transcript_line(item.get("transcript") or [])
        updates[self.question] = item["question"]
        updates[form.reference] = views.references(item)
        updates[form.transcript] = gr.Textbox(value=line, visible=bool(line))
        updates.update(form.others(item, keep))
        if item["status"] == "pending":  # a fresh request clears the last message and shows the form
            updates.update({self.result: "", form.column: gr.Column(visible=True)})
        # A request answered elsewhere keeps the form as it was: after a 409 the answer typed is still there.
        return updates

    def resolve(
        self, current, text, corrected, learn: bool, knowledge_id: int | None, include, request: gr.Request
    ) -> dict:
        help_request_id = views.as_id(current)
        if help_request_id is None:
            return {self.result: "Pick a request from the queue first.", self.answered: None}
        if not (text or "").strip():
            return {self.result: "Write an answer first (or use a suggestion).", self.answered: None}
        client, corrected = self.client_for(request), (corrected or "").strip() or None
        try:
            references = [int(r) for r in include or []]
            response = client.resolve(
                help_request_id, text.strip(), corrected, learn, knowledge_id, author(request), references
            )
        except ApiError as exc:
            return {self.result: answer_form.refused_text(help_request_id, exc), self.answered: None}
        sent = answer_form.sent_text(help_request_id, response, knowledge_id, len(references))
        cleared = {self.form.answer: "", self.form.corrected: "", self.selected: None}
        return {self.result: sent, **cleared, self.answered: help_request_id}

    def send_answer(self, current, text, corrected, learn, include, request: gr.Request) -> dict:
        return self.resolve(current, text, corrected, bool(learn), None, include, request)

    def use_suggestion(self, i: int, current, corrected, chosen, include, request: gr.Request) -> dict:
        """Resolve with the entry's answer and `knowledge_id`: the question always becomes one of its phrasings
        (the page says so; "Learn this answer" is about a written answer)."""
        if i >= len(chosen):
            return {self.result: "That suggestion is gone; pick the request again.", self.answered: None}
        return self.resolve(current, chosen[i]["answer"], corrected, True, chosen[i]["id"], include, request)

    def dismiss(self, current, request: gr.Request) -> dict:
        help_request_id = views.as_id(current)
        if help_request_id is None:
            return {self.result: "Pick a request from the queue first."}
        message = answer_form.dismiss_one(self.client_for(request), help_request_id, author(request))
        return {self.result: message, self.selected: None}


def build(client_for: ClientFor, header: gr.Markdown, signal: gr.Markdown, timer: gr.Timer, blocks: gr.Blocks) -> None:
    tab = PendingTab(client_for, header, signal)
    form, selected = tab.form, tab.selected
    refreshed = [header, tab.queue, tab.empty, signal, selected, tab.shown_ids, tab.bulk.picks]
    after: dict[str, Any] = {"fn": tab.refresh, "inputs": [selected, tab.shown_ids], "outputs": refreshed}
    filled = [form.answer, form.corrected, form.learn, form.include, form.filled_for, form.reference, form.transcript]
    opened = [tab.question, *tab.offered.outputs, *filled, tab.result, form.column]
    reopen: dict[str, Any] = {"fn": tab.open_request, "inputs": [selected, form.filled_for], "outputs": opened}
    resolved = [tab.result, form.answer, form.corrected, selected, tab.answered]
    offer_similar = similar_panel.build(client_for, tab.answered, tab.result, after)

    def then_offer(event) -> None:
        event.then(**after).then(**reopen).then(**offer_similar).then(None, js=similar_panel.REVEAL)

    written = [selected, form.answer, form.corrected, form.learn, form.include]
    then_offer(form.send.click(tab.send_answer, written, resolved))
    for i, button in enumerate(tab.offered.buttons):

        def use(current, corrected, chosen, include, request: gr.Request, i=i):
            return tab.use_suggestion(i, current, corrected, chosen, include, request)

        then_offer(button.click(use, [selected, form.corrected, tab.offered.offered, form.include], resolved))
    form.dismiss.click(tab.dismiss, [selected], [tab.result, selected]).then(**after).then(**reopen)
    for event in tab.bulk_events:
        event.then(**after)

    def pick_row(ids, event: gr.SelectData):
        picked = views.id_at_row(ids, event.index)
        return gr.skip() if picked is None else picked

    selected.input(**reopen)
    tab.queue.select(pick_row, [tab.shown_ids], [selected]).then(**reopen)
    timer.tick(**after, show_progress="hidden", api_visibility="private")
    blocks.load(**after)

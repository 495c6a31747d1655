"""Pending tab (the landing one): the queue, oldest first, and the form that answers a request."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import gradio as gr

from supervisor_gradio import alerts, similar_panel, views, widgets
from supervisor_gradio.api import ApiClient, ApiError, ClientFor

EMPTY_QUEUE = "**No callers are waiting.** New questions show up here by themselves within a few seconds."
SUGGESTIONS = 3


def header_text(client: ApiClient) -> str:
    """The console header: today's counts and the live precision of auto-answers."""
    return views.header_markdown(client.dashboard(), client.quality())


def build(client_for: ClientFor, header: gr.Markdown, signal: gr.Markdown, timer: gr.Timer, blocks: gr.Blocks) -> None:
    shown_ids = gr.State([])
    suggestions = gr.State([])
    empty = gr.Markdown(EMPTY_QUEUE, visible=False, elem_id="pending-empty")
    queue = widgets.read_only_table(
        views.PENDING_HEADERS,
        "pending-table",
        ["7%", "39%", "20%", "11%", "11%", "12%"],
        label="Waiting callers, oldest first (click a row to answer it)",
    )
    with gr.Group():
        selected = gr.Dropdown(
            label="Request to answer", choices=[], value=None, allow_custom_value=True, elem_id="pending-select"
        )
        question = gr.Textbox(label="Caller's question", interactive=False, elem_id="answer-caller-question")
    suggestions_title = gr.Markdown(visible=False, elem_id="suggestions-title")
    suggestion_rows, suggestion_boxes, suggestion_buttons = [], [], []
    for i in range(SUGGESTIONS):
        with gr.Row(visible=False, elem_classes="action-row") as row:
            box = gr.Textbox(label=f"Suggestion {i + 1}", interactive=False, scale=5, elem_id=f"suggestion-{i}")
            button = gr.Button("Use this answer", scale=0, min_width=150, elem_id=f"use-suggestion-{i}")
        suggestion_rows.append(row)
        suggestion_boxes.append(box)
        suggestion_buttons.append(button)
    show_weak = gr.Button("Show weak suggestions", visible=False, size="sm", elem_id="suggestions-more")
    with gr.Column(visible=False) as answer_form:  # shown once a request is picked: nothing to send before
        answer = gr.Textbox(
            label="Your answer", lines=3, elem_id="answer-text", placeholder="What should the caller be told?"
        )
        corrected = gr.Textbox(
            label="Question to learn (optional: fix the caller's wording)", elem_id="answer-question"
        )
        learn = gr.Checkbox(value=True, label="Learn this answer for next time", elem_id="answer-learn")
        send = gr.Button("Send answer", variant="primary", elem_id="answer-send")
    # The request the answer form was filled in for: picking another one starts a fresh form.
    form_for = gr.State(None)
    result = gr.Markdown(elem_id="answer-result")
    answered = gr.State(None)  # the request just answered: its similar waiting questions are offered next

    def refresh(current, request: gr.Request):
        """Only the table, counts and choices change: what the supervisor is typing is left alone."""
        client = client_for(request)
        try:
            items = client.pending()
            counts = header_text(client)
        except ApiError as exc:
            return exc.explain(), *[gr.skip()] * 5
        at = datetime.now(UTC)
        ids = [item["id"] for item in items]
        choices = [views.pending_choice(item) for item in items]
        current_id = views.as_id(current)
        if current_id is not None and current_id not in ids:
            choices.append((f"#{current_id} · no longer pending", current_id))
        return (
            counts,
            gr.Dataframe(value=[views.pending_row(i, at) for i in items], headers=views.PENDING_HEADERS),
            gr.Markdown(visible=not items),
            gr.Dropdown(choices=choices),
            ids,
            alerts.signal_text(items),
        )

    refreshed = [header, queue, empty, selected, shown_ids, signal]

    def open_request(current, filled_for, request: gr.Request):
        """Show the request and its suggestions; a request other than the form's gets a fresh form."""
        help_request_id = views.as_id(current)
        form = (
            [gr.skip()] * 4
            if help_request_id is not None and help_request_id == filled_for
            else ["", "", True, help_request_id]
        )
        hidden = [
            gr.Markdown(visible=False),
            *[gr.Row(visible=False)] * SUGGESTIONS,
            *[gr.Textbox(value="")] * SUGGESTIONS,
            gr.Button(visible=False),
        ]
        if help_request_id is None:
            return ["", [], *hidden, *form, gr.skip(), gr.Column(visible=False)]
        client = client_for(request)
        try:
            item = client.help_request(help_request_id)
            found = client.knowledge(q=item["question"], limit=SUGGESTIONS)["items"]
        except ApiError as exc:
            return ["", [], *hidden, *form, exc.explain(), gr.Column(visible=False)]
        offered = [
            {"id": e["id"], "answer": e["answer"], "strength": views.suggestion_strength(e["score"])} for e in found
        ]
        rows, boxes = [], []
        for i in range(SUGGESTIONS):
            entry = offered[i] if i < len(offered) else None
            # Weak ones wait behind "Show weak suggestions": they are rarely the answer and tempt a quick click.
            rows.append(gr.Row(visible=entry is not None and entry["strength"] != "weak"))
            boxes.append(
                gr.Textbox(value=entry["answer"], label=f"Suggestion {i + 1}: {entry['strength']} match")
                if entry
                else gr.Textbox(value="", label=f"Suggestion {i + 1}")
            )
        weak = sum(e["strength"] == "weak" for e in offered)
        title = (
            "**Suggestions**: the nearest answers already in the knowledge base. "
            "Using one adds this question to that entry."
            if weak < len(offered)
            else "**Suggestions**: nothing in the knowledge base comes close to this question."
        )
        more = gr.Button(visible=bool(weak), value=f"Show {weak} weak suggestion{'s' if weak != 1 else ''}")
        # A fresh pending request clears the last message; otherwise keep it (it may explain a 409).
        note = "" if item["status"] == "pending" else gr.skip()
        shown_title = gr.Markdown(value=title, visible=bool(offered))
        # A request answered elsewhere keeps the form as it was: after a 409 the answer typed is still there.
        form_shown = gr.Column(visible=True) if item["status"] == "pending" else gr.skip()
        return [item["question"], offered, shown_title, *rows, *boxes, more, *form, note, form_shown]

    opened = [
        question,
        suggestions,
        suggestions_title,
        *suggestion_rows,
        *suggestion_boxes,
        show_weak,
        answer,
        corrected,
        learn,
        form_for,
        result,
        answer_form,
    ]

    def reveal_weak(offered):
        return [gr.Row(visible=i < len(offered)) for i in range(SUGGESTIONS)] + [gr.Button(visible=False)]

    show_weak.click(reveal_weak, [suggestions], [*suggestion_rows, show_weak])

    def resolve(current, text, corrected_text, learn_it, knowledge_id, request: gr.Request):
        help_request_id = views.as_id(current)
        if help_request_id is None:
            return "Pick a request from the queue first.", *[gr.skip()] * 3, None
        if not (text or "").strip():
            return "Write an answer first (or use a suggestion).", *[gr.skip()] * 3, None
        try:
            response = client_for(request).resolve(
                help_request_id, text.strip(), (corrected_text or "").strip() or None, bool(learn_it), knowledge_id
            )
        except ApiError as exc:
            if exc.status_code == 409:
                return (
                    f"⚠️ **Request #{help_request_id} was already answered or closed by someone else.** "
                    "Your answer was not sent; it is still in the box if you need it.",
                    *[gr.skip()] * 3,
                    None,
                )
            return exc.explain(), *[gr.skip()] * 3, None
        sent = int(response["followups_queued"])
        followed = (
            f"Follow-up sent to {sent} waiting caller{'s' if sent != 1 else ''}."
            if sent
            else "No caller was waiting, so no follow-up was needed."
        )
        learned = ""
        if response.get("personal_reasons"):  # a personal answer: not learned, and sent to the caller who asked
            learned = f" Not learned and sent only to the caller who asked: {'; '.join(response['personal_reasons'])}."
        elif learn_it and response.get("knowledge_id") is not None:
            learned = (
                f" The question was added as a new phrasing of entry #{response['knowledge_id']}."
                if knowledge_id is not None
                else f" Learned as knowledge entry #{response['knowledge_id']}."
            )
        return f"✅ Request #{help_request_id} resolved. {followed}{learned}", "", "", None, help_request_id

    resolved = [result, answer, corrected, selected, answered]
    after: dict[str, Any] = {"fn": refresh, "inputs": [selected], "outputs": refreshed}
    reopen: dict[str, Any] = {"fn": open_request, "inputs": [selected, form_for], "outputs": opened}
    offer_similar = similar_panel.build(client_for, answered, result, after)

    def send_answer(current, text, corrected_text, learn_it, request: gr.Request):
        return resolve(current, text, corrected_text, learn_it, None, request)

    send.click(send_answer, [selected, answer, corrected, learn], resolved).then(**after).then(**reopen).then(
        **offer_similar
    ).then(None, js=similar_panel.REVEAL)

    for i, button in enumerate(suggestion_buttons):

        def use_suggestion(current, corrected_text, offered, request: gr.Request, i=i):
            """Resolve with the entry's answer and `knowledge_id`: the question always becomes one of its phrasings
            (the page says so; "Learn this answer" is about a written answer)."""
            if i >= len(offered):
                return "That suggestion is gone; pick the request again.", *[gr.skip()] * 3, None
            return resolve(current, offered[i]["answer"], corrected_text, True, offered[i]["id"], request)

        button.click(use_suggestion, [selected, corrected, suggestions], resolved).then(**after).then(**reopen).then(
            **offer_similar
        ).then(None, js=similar_panel.REVEAL)

    def pick_row(ids, event: gr.SelectData):
        picked = views.id_at_row(ids, event.index)
        return gr.skip() if picked is None else picked

    selected.input(**reopen)
    queue.select(pick_row, [shown_ids], [selected]).then(**reopen)
    timer.tick(refresh, [selected], refreshed, show_progress="hidden", api_visibility="private")
    blocks.load(refresh, [selected], refreshed)

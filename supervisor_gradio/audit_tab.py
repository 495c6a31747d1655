"""Audit tab: the agent's sampled auto-answers, one at a time, each marked Right or Wrong in one click; below them,
the callers' confirmed wordings to approve or drop (`wordings_panel.py`).

Every verdict is a label for the service's live precision estimate, which the console header shows."""

from __future__ import annotations

from datetime import UTC, datetime

import gradio as gr

from supervisor_gradio import views, wordings_panel
from supervisor_gradio.api import ApiClient, ApiError, ClientFor
from supervisor_gradio.pending_tab import header_text

EMPTY = "**Nothing to review:** the agent's recent answers have all been checked."


def build(
    client_for: ClientFor, header: gr.Markdown, timer: gr.Timer, tab: gr.Tab, blocks: gr.Blocks
) -> tuple[gr.Button, gr.State]:
    """Returns the "Open entry #N" button a Wrong shows, and the entry's id: the console opens it in the editor."""
    shown = gr.State(None)  # the id of the auto-answer on screen, the one the buttons mark
    count = gr.Markdown(elem_id="audit-count")
    with gr.Column(visible=False, elem_id="audit-card") as card:
        caption = gr.Markdown(elem_id="audit-caption")
        question = gr.Textbox(label="The caller asked", interactive=False, elem_id="audit-question")
        answer = gr.Textbox(label="The agent answered", interactive=False, lines=2, elem_id="audit-answer")
        gr.Markdown("Was that the right answer to the caller's question?")
        with gr.Row(elem_classes="verdict-row"):
            right = gr.Button("Right", variant="primary", min_width=100, elem_id="audit-right")
            wrong = gr.Button("Wrong", variant="stop", min_width=100, elem_id="audit-wrong")
    result = gr.Markdown(elem_id="audit-result")
    open_entry = gr.Button(visible=False, size="sm", elem_id="audit-open-entry")
    wrong_entry = gr.State(None)
    wordings_panel.build(client_for, timer, tab, blocks)
    showing = [count, card, caption, question, answer, shown]

    def first_waiting(client: ApiClient) -> tuple[dict | None, int]:
        page = client.audits(limit=1)
        return (page["items"][0] if page["items"] else None), int(page["total"])

    def show(item: dict | None, total: int) -> list:
        if item is None:
            return [EMPTY, gr.Column(visible=False), "", "", "", None]
        caption_text = views.audit_caption(item, datetime.now(UTC))
        return [
            views.audits_left(total),
            gr.Column(visible=True),
            caption_text,
            item["question"],
            item["answer"],
            item["id"],
        ]

    def refresh(current, request: gr.Request):
        """Fills an empty view and updates the count, but never swaps the answer the supervisor is reading."""
        try:
            item, total = first_waiting(client_for(request))
        except ApiError as exc:
            return [exc.explain(), *[gr.skip()] * 5]
        if current is None:
            return show(item, total)
        left = views.audits_left(total)
        if item is None or item["id"] != current:  # the oldest waiting is always the one on screen
            left = f"{left} Auto-answer #{int(current)} was just marked by someone else: either button moves on."
        return [left, *[gr.skip()] * 5]

    def mark(current, correct: bool, request: gr.Request):
        client = client_for(request)
        if current is None:
            return ["Nothing to mark.", *[gr.skip()] * 9]
        try:
            marked = client.review_audit(current, correct)
            note = (
                f"Auto-answer #{int(current)} marked right."
                if correct
                else f"Auto-answer #{int(current)} marked wrong. If entry #{int(marked['knowledge_id'])} needs a "
                "better answer or phrasing, open it below and fix it."
            )
        except ApiError as exc:
            if exc.status_code != 409:
                return [exc.explain(), *[gr.skip()] * 9]
            note, marked = f"Auto-answer #{int(current)} had already been marked, so this click changed nothing.", {}
        try:
            item, total = first_waiting(client)
            counts = header_text(client)
        except ApiError as exc:
            return [exc.explain(), *[gr.skip()] * 9]
        entry = None if correct else marked.get("knowledge_id")
        button = gr.Button(visible=entry is not None, value=f"Open entry #{int(entry)} to fix it" if entry else "")
        return [note, counts, *show(item, total), button, entry]

    def mark_right(current, request: gr.Request):
        return mark(current, True, request)

    def mark_wrong(current, request: gr.Request):
        return mark(current, False, request)

    marked_outputs = [result, header, *showing, open_entry, wrong_entry]
    right.click(mark_right, [shown], marked_outputs, show_progress="minimal")
    wrong.click(mark_wrong, [shown], marked_outputs, show_progress="minimal")
    tab.select(refresh, [shown], showing)
    timer.tick(refresh, [shown], showing, show_progress="hidden", api_visibility="private")
    blocks.load(refresh, [shown], showing)
    return open_entry, wrong_entry

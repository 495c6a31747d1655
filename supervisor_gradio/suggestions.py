"""The nearest answers already in the knowledge base, offered beside a request: "Use this answer" resolves with
that entry, and the question becomes one of its phrasings. Weak ones wait behind "Show weak suggestions"."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from supervisor_gradio import views
from supervisor_gradio.api import ApiClient

SHOWN = 3


@dataclass
class Suggestions:
    offered: gr.State  # [{"id", "answer", "strength"}] for the request open now
    title: gr.Markdown
    rows: list[gr.Row]
    boxes: list[gr.Textbox]
    buttons: list[gr.Button]
    show_weak: gr.Button

    @property
    def outputs(self) -> list:
        return [self.offered, self.title, *self.rows, *self.boxes, self.show_weak]

    def hidden(self) -> dict:
        """Nothing offered (no request open, or it could not be read)."""
        updates: dict = {
            self.offered: [],
            self.title: gr.Markdown(visible=False),
            self.show_weak: gr.Button(visible=False),
        }
        for i in range(SHOWN):
            updates[self.rows[i]] = gr.Row(visible=False)
            updates[self.boxes[i]] = gr.Textbox(value="", label=f"Suggestion {i + 1}")
        return updates

    def fill(self, client: ApiClient, question: str) -> dict:
        """Search the knowledge base for `question` and show what comes close (ApiError if the search fails)."""
        found = client.knowledge(q=question, limit=SHOWN)["items"]
        offered = [
            {"id": e["id"], "answer": e["answer"], "strength": views.suggestion_strength(e["score"])} for e in found
        ]
        weak = sum(e["strength"] == "weak" for e in offered)
        updates = self.hidden()
        updates[self.offered] = offered
        updates[self.title] = gr.Markdown(value=_title(weak, len(offered)), visible=bool(offered))
        updates[self.show_weak] = gr.Button(visible=bool(weak), value=f"Show {views.plural(weak, 'weak suggestion')}")
        for i, entry in enumerate(offered):
            # Weak ones wait behind "Show weak suggestions": they are rarely the answer and tempt a quick click.
            updates[self.rows[i]] = gr.Row(visible=entry["strength"] != "weak")
            updates[self.boxes[i]] = gr.Textbox(
                value=entry["answer"], label=f"Suggestion {i + 1}: {entry['strength']} match"
            )
        return updates


def _title(weak: int, offered: int) -> str:
    if weak < offered:
        return (
            "**Suggestions**: the nearest answers already in the knowledge base. "
            "Using one adds this question to that entry."
        )
    return "**Suggestions**: nothing in the knowledge base comes close to this question."


def build() -> Suggestions:
    title = gr.Markdown(visible=False, elem_id="suggestions-title")
    rows, boxes, buttons = [], [], []
    for i in range(SHOWN):
        with gr.Row(visible=False, elem_classes="action-row") as row:
            boxes.append(gr.Textbox(label=f"Suggestion {i + 1}", interactive=False, scale=5, elem_id=f"suggestion-{i}"))
            buttons.append(gr.Button("Use this answer", scale=0, min_width=150, elem_id=f"use-suggestion-{i}"))
        rows.append(row)
    show_weak = gr.Button("Show weak suggestions", visible=False, size="sm", elem_id="suggestions-more")
    shown = Suggestions(gr.State([]), title, rows, boxes, buttons, show_weak)

    def reveal_weak(offered):
        return {
            **{row: gr.Row(visible=i < len(offered)) for i, row in enumerate(rows)},
            show_weak: gr.Button(visible=False),
        }

    show_weak.click(reveal_weak, [shown.offered], [*rows, show_weak])
    return shown

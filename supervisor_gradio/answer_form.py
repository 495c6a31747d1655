"""The form under the queue that answers or dismisses the request picked, and what each press says back."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from supervisor_gradio import views
from supervisor_gradio.api import ApiClient, ApiError


@dataclass
class AnswerForm:
    column: gr.Column  # shown once a request is picked: nothing to send before
    reference: gr.Markdown  # "Request #28 … the caller was given reference 29"
    transcript: gr.Textbox  # the call's earlier questions, on one line
    answer: gr.Textbox
    corrected: gr.Textbox
    learn: gr.Checkbox
    send: gr.Button
    dismiss: gr.Button
    filled_for: gr.State  # the request the form was filled in for: picking another one starts a fresh form

    def fresh(self, help_request_id: int | None) -> dict:
        return {self.answer: "", self.corrected: "", self.learn: True, self.filled_for: help_request_id}


def build() -> AnswerForm:
    with gr.Column(visible=False) as column:
        reference = gr.Markdown(elem_id="answer-reference")
        transcript = gr.Textbox(
            label="Earlier in the call", interactive=False, visible=False, elem_id="answer-transcript", max_lines=4
        )
        answer = gr.Textbox(
            label="Your answer", lines=3, elem_id="answer-text", placeholder="What should the caller be told?"
        )
        corrected = gr.Textbox(
            label="Question to learn (optional: fix the caller's wording)", elem_id="answer-question"
        )
        learn = gr.Checkbox(value=True, label="Learn this answer for next time", elem_id="answer-learn")
        with gr.Row(elem_classes="button-row"):
            send = gr.Button("Send answer", variant="primary", elem_id="answer-send")
            dismiss = gr.Button("Dismiss: not a question", elem_id="answer-dismiss")
    return AnswerForm(column, reference, transcript, answer, corrected, learn, send, dismiss, gr.State(None))


def sent_text(help_request_id: int, response: dict, learned_into: int | None) -> str:
    """What a resolve did: who was followed up, and what was learned."""
    sent = int(response["followups_queued"])
    followed = (
        f"Follow-up sent to {views.plural(sent, 'waiting caller')}."
        if sent
        else "No caller was waiting, so no follow-up was needed."
    )
    learned = ""
    if response.get("personal_reasons"):  # a personal answer: not learned, and sent to the caller who asked
        learned = f" Not learned and sent only to the caller who asked: {'; '.join(response['personal_reasons'])}."
    elif response.get("knowledge_id") is not None:
        learned = (
            f" The question was added as a new phrasing of entry #{int(response['knowledge_id'])}."
            if learned_into is not None
            else f" Learned as knowledge entry #{int(response['knowledge_id'])}."
        )
    return f"Request #{help_request_id} resolved. {followed}{learned}"


def refused_text(help_request_id: int, exc: ApiError) -> str:
    if exc.status_code == 409:
        return (
            f"**Request #{help_request_id} was already answered or closed by someone else.** "
            "Your answer was not sent; it is still in the box if you need it."
        )
    return exc.explain()


def dismiss_one(client: ApiClient, help_request_id: int, by: str | None) -> str:
    try:
        client.dismiss(help_request_id, by)
    except ApiError as exc:
        if exc.status_code == 409:
            return f"**Request #{help_request_id} was already answered or closed by someone else.**"
        return exc.explain()
    return f"Request #{help_request_id} dismissed: nobody was texted and nothing was learned."

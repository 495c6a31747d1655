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
    include: gr.CheckboxGroup  # the other joined callers a personal answer also goes to (`include_references`)
    send: gr.Button
    dismiss: gr.Button
    filled_for: gr.State  # the request the form was filled in for: picking another one starts a fresh form

    def fresh(self, help_request_id: int | None) -> dict:
        return {
            self.answer: "",
            self.corrected: "",
            self.learn: True,
            self.include: [],
            self.filled_for: help_request_id,
        }

    def others(self, item: dict, keep: bool) -> dict:
        """Ticks for the callers who joined after the first one (none: hidden); `keep`: the ticks made stay."""
        callers = item.get("callers") or []
        choices = [(caller_label(c), int(c["reference"])) for c in callers[1:]]
        info = (
            f"An answer that names someone, or holds card or phone digits or an appointment, goes only to the "
            f"caller who asked first (reference {int(callers[0]['reference'])}) and to those ticked here."
            if choices
            else None
        )
        if keep:
            return {self.include: gr.CheckboxGroup(choices=choices, info=info, visible=bool(choices))}
        return {self.include: gr.CheckboxGroup(choices=choices, info=info, visible=bool(choices), value=[])}


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
        include = gr.CheckboxGroup(
            label="Also send a personal answer to", choices=[], visible=False, elem_id="answer-include"
        )
        with gr.Row(elem_classes="button-row"):
            send = gr.Button("Send answer", variant="primary", elem_id="answer-send")
            dismiss = gr.Button("Dismiss: not a question", elem_id="answer-dismiss")
    return AnswerForm(column, reference, transcript, answer, corrected, learn, include, send, dismiss, gr.State(None))


def caller_label(caller: dict) -> str:
    """A joined caller as the console shows callers elsewhere: their reference, name and masked phone."""
    return f"Reference {int(caller['reference'])} · {views.who(caller.get('name'), caller.get('phone'))}"


def sent_text(help_request_id: int, response: dict, learned_into: int | None, ticked: int = 0) -> str:
    """What a resolve did: who was followed up, and what was learned; `ticked`: other callers included."""
    sent = int(response["followups_queued"])
    followed = (
        f"Follow-up sent to {views.plural(sent, 'waiting caller')}."
        if sent
        else "No caller was waiting, so no follow-up was needed."
    )
    learned = ""
    if response.get("personal_reasons"):  # a personal answer: not learned, and sent to the caller who asked
        to = "the caller who asked" + (f" and the {views.plural(ticked, 'caller')} you ticked" if ticked else "")
        learned = f" Not learned and sent only to {to}: {'; '.join(response['personal_reasons'])}."
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

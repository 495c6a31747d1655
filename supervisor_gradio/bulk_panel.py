"""Several waiting requests at once: tick them, then dismiss them all ("hello", "thanks, bye", tests) or send them
all one answer (learned once: the first question becomes an entry, the others its phrasings)."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from supervisor_gradio import views
from supervisor_gradio.api import ApiClient, ApiError, ClientFor, author


@dataclass
class BulkPanel:
    picks: gr.CheckboxGroup
    result: gr.Markdown
    dismiss: gr.Button
    send: gr.Button


def build(client_for: ClientFor) -> tuple[BulkPanel, list]:
    """The panel, and the events its buttons start (each refreshes the queue after, with `.then`)."""
    with gr.Accordion("Select several", open=False, elem_id="bulk-panel"):
        picks = gr.CheckboxGroup(label="Waiting requests", choices=[], elem_id="bulk-picks", elem_classes="stacked")
        answer = gr.Textbox(label="One answer for all of them", lines=2, elem_id="bulk-answer")
        learn = gr.Checkbox(value=True, label="Learn this answer for next time", elem_id="bulk-learn")
        with gr.Row(elem_classes="button-row"):
            send = gr.Button("Send this answer to the selected", variant="primary", elem_id="bulk-send")
            dismiss = gr.Button("Dismiss the selected", elem_id="bulk-dismiss")
        result = gr.Markdown(elem_id="bulk-result")
    panel = BulkPanel(picks, result, dismiss, send)

    def dismiss_all(chosen, request: gr.Request):
        if not chosen:
            return {result: "Tick the requests to dismiss first."}
        client, by = client_for(request), author(request)
        done, gone = _each(chosen, lambda i: client.dismiss(i, by))
        text = f"Dismissed {views.plural(len(done), 'request')}: nobody was texted and nothing was learned."
        return {result: text + _gone(gone), picks: gr.CheckboxGroup(value=[])}

    def send_all(chosen, text, learn_it, request: gr.Request):
        if not chosen:
            return {result: "Tick the requests to answer first."}
        if not (text or "").strip():
            return {result: "Write the answer first."}
        done, gone, callers = _send(client_for(request), [int(i) for i in chosen], text.strip(), learn_it, request)
        message = f"Answered {views.plural(len(done), 'request')} ({views.plural(callers, 'caller')} followed up)."
        return {result: message + _gone(gone), picks: gr.CheckboxGroup(value=[]), answer: ""}

    events = [
        dismiss.click(dismiss_all, [picks], [result, picks]),
        send.click(send_all, [picks, answer, learn], [result, picks, answer]),
    ]
    return panel, events


def _send(client: ApiClient, ids: list[int], text: str, learn: bool, request) -> tuple[list, list, int]:
    """Resolve each; once the first is learned, the others' questions join that entry as phrasings."""
    done, gone, callers, entry = [], [], 0, None
    for help_request_id in ids:
        try:
            response = client.resolve(help_request_id, text, None, learn, entry, author(request))
        except ApiError:
            gone.append(help_request_id)
            continue
        done.append(help_request_id)
        callers += int(response["followups_queued"])
        entry = entry or (response.get("knowledge_id") if learn else None)
    return done, gone, callers


def _each(chosen, act) -> tuple[list[int], list[int]]:
    done, gone = [], []
    for help_request_id in (int(i) for i in chosen):
        try:
            act(help_request_id)
            done.append(help_request_id)
        except ApiError:
            gone.append(help_request_id)
    return done, gone


def _gone(gone: list[int]) -> str:
    if not gone:
        return ""
    return f" Not {', '.join(f'#{i}' for i in gone)}: answered or closed meanwhile."


def choices(items: list[dict]) -> list[tuple[str, int]]:
    return [views.pending_choice(item) for item in items]

"""After an answer: "2 similar waiting questions: send them this answer too?", with a tick for each."""

from __future__ import annotations

import gradio as gr

from supervisor_gradio import views
from supervisor_gradio.api import ApiError, ClientFor


def build(client_for: ClientFor, answered: gr.State, result: gr.Markdown, after: dict) -> dict:
    """The panel, under the answer form. Returns the event that fills it in for the request in `answered`."""
    with gr.Group(visible=False, elem_id="similar-panel") as panel:
        title = gr.Markdown(elem_id="similar-title")
        picks = gr.CheckboxGroup(
            label="Untick any this answer does not fit", choices=[], elem_id="similar-picks", elem_classes="stacked"
        )
        with gr.Row(elem_classes="button-row"):
            send = gr.Button("Send the same answer", variant="primary", elem_id="similar-send")
            dismiss = gr.Button("No, answer separately", elem_id="similar-dismiss")

    def offer(help_request_id, request: gr.Request):
        hidden = gr.Group(visible=False), gr.skip(), gr.CheckboxGroup(choices=[], value=[])
        if help_request_id is None:
            return hidden
        try:
            items = client_for(request).similar(help_request_id)
        except ApiError:  # the answer went out; offering more is a bonus, never an error on top of it
            return hidden
        if not items:
            return hidden
        choices = [views.pending_choice(item) for item in items]
        count = views.plural(len(items), "similar waiting question")
        return (
            gr.Group(visible=True),
            f"**{count}**: send {'it' if len(items) == 1 else 'them'} the answer to #{int(help_request_id)} too? "
            "Each caller gets the same follow-up.",
            gr.CheckboxGroup(choices=choices, value=[item["id"] for item in items]),
        )

    def send_to(help_request_id, chosen, request: gr.Request):
        if help_request_id is None:
            return gr.skip(), "Answer a request first."
        if not chosen:
            return gr.skip(), "Tick at least one question, or press “No, answer separately”."
        try:
            sent = client_for(request).resolve_similar(help_request_id, [int(i) for i in chosen])
        except ApiError as exc:
            return gr.skip(), exc.explain()
        done, gone = sent["resolved"], sent["skipped"]
        message = f"Sent the answer to {views.plural(len(done), 'more request')}" + (
            f" ({views.plural(int(sent['followups_queued']), 'caller')} followed up)." if done else "."
        )
        if gone:
            numbers = ", ".join(f"#{int(i)}" for i in gone)
            message += f" Not sent to {numbers}: answered meanwhile or no longer waiting."
        return gr.Group(visible=False), message

    send.click(send_to, [answered, picks], [panel, result]).then(**after)
    dismiss.click(lambda: gr.Group(visible=False), None, [panel])
    return {"fn": offer, "inputs": [answered], "outputs": [panel, title, picks]}


# Run after the offer: on a phone the panel opens below the fold, so bring it into view once it is drawn.
REVEAL = """() => requestAnimationFrame(() => {
    const panel = document.getElementById("similar-panel");
    if (panel && panel.offsetParent !== null) panel.scrollIntoView({block: "nearest"});
})"""

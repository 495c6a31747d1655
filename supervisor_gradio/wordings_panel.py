"""On the Audit tab: the words callers used when they said yes to "Just to check — are you asking …?", each waiting
to become a phrasing of the entry they confirmed. Tick several and approve them (answered from the next call on)
or drop them (never proposed again)."""

from __future__ import annotations

import gradio as gr

from supervisor_gradio import views
from supervisor_gradio.api import ApiError, ClientFor, author

NONE_WAITING = "**No callers' wordings to approve.**"


def count_text(total: int, auto_add_after: int) -> str:
    waiting = views.plural(total, "caller's wording", "callers' wordings")
    alone = (
        f" A wording confirmed alike by {auto_add_after} calls from different addresses is added on its own."
        if auto_add_after
        else ""
    )
    return (
        f'**{waiting} to approve.** Each caller said yes to "Just to check — are you asking …?": approve to answer'
        f" those words from the next call on.{alone}"
    )


def choice(item: dict) -> tuple[str, int]:
    said = item["question"] if len(item["question"]) <= 80 else item["question"][:79] + "…"
    calls = views.plural(item["confirmations"], "call")
    return f"“{said}” → entry #{item['knowledge_id']} “{item['entry_question']}” · {calls}", item["id"]


def build(client_for: ClientFor, timer: gr.Timer, tab: gr.Tab, blocks: gr.Blocks) -> None:
    gr.Markdown("### Callers' wordings")
    count = gr.Markdown(elem_id="wordings-count")
    picks = gr.CheckboxGroup(label="Wordings", choices=[], elem_id="wordings-picks", elem_classes="stacked")
    with gr.Row(elem_classes="button-row"):
        approve = gr.Button("Approve the selected", variant="primary", elem_id="wordings-approve")
        drop = gr.Button("Drop the selected", elem_id="wordings-drop")
    result = gr.Markdown(elem_id="wordings-result")

    def refresh(chosen, request: gr.Request):
        """New wordings come in without unticking what the supervisor ticked."""
        try:
            page = client_for(request).pending_phrasings()
        except ApiError as exc:
            return exc.explain(), gr.skip()
        ids = {item["id"] for item in page["items"]}
        text = count_text(page["total"], page["auto_add_after"]) if page["total"] else NONE_WAITING
        kept = [i for i in (chosen or []) if i in ids]
        return text, gr.CheckboxGroup(choices=[choice(item) for item in page["items"]], value=kept)

    def decide(chosen, approving: bool, request: gr.Request):
        if not chosen:
            return "Tick the wordings first.", gr.skip()
        try:
            done = client_for(request).decide_phrasings([int(i) for i in chosen], approving, author(request))
        except ApiError as exc:
            return exc.explain(), gr.skip()
        n = views.plural(len(done["decided"]), "wording")
        text = (
            f"Approved {n}: each is a phrasing of its entry now, answered from the next call on."
            if approving
            else f"Dropped {n}: never learned, and not proposed again."
        )
        if done["skipped"]:
            text += f" Not {', '.join(f'#{i}' for i in done['skipped'])}: decided meanwhile."
        return text, gr.CheckboxGroup(value=[])

    def approve_all(chosen, request: gr.Request):
        return decide(chosen, True, request)

    def drop_all(chosen, request: gr.Request):
        return decide(chosen, False, request)

    for button, act in ((approve, approve_all), (drop, drop_all)):
        button.click(act, [picks], [result, picks], show_progress="minimal").then(refresh, [picks], [count, picks])
    tab.select(refresh, [picks], [count, picks])
    timer.tick(refresh, [picks], [count, picks], show_progress="hidden", api_visibility="private")
    blocks.load(refresh, [picks], [count, picks])

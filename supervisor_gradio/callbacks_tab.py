"""Call-backs tab: callers to phone back (their request timed out, or they asked to be called back instead of
waiting), each with their full phone number, marked "called back" with a note. The list refreshes on the console's
timer when it changed, keeping the call-back being marked.

Only the signed-in supervisor sees this tab, so phones show in full here; everywhere else they are masked. At
phone width the list is stacked cards with tap-to-call numbers (cards.py)."""

from __future__ import annotations

import gradio as gr

from supervisor_gradio import cards, views, widgets
from supervisor_gradio.api import ApiClient, ApiError, ClientFor

TO_CALL, CALLED = "To call", "Called back"
OPEN_HEADERS = ["#", "Caller", "Phone", "Question", "Asked", "Why"]
DONE_HEADERS = ["#", "Caller", "Phone", "Question", "Asked", "Called back", "Note"]
NOTHING_TO_CALL = (
    "**Nobody to call back.** Callers whose question timed out, or who ask to be called back, show up here."
)


def why(item: dict) -> str:
    reason = "asked to be called back" if item["reason"] == "asked" else "no answer in time"
    return f"{reason} · answered since" if item["status"] == "resolved" else reason


def phone(item: dict) -> str:
    """The number as given; one the caller never proved with a code may be someone else's, and is never texted."""
    return item["phone"] if item.get("phone_verified") else f"{item['phone']} (unverified)"


def row(item: dict, done: bool) -> list:
    first = [item["id"], item.get("name") or "", phone(item), item["question"], views.local_time(item["asked_at"])]
    if done:
        return [*first, views.local_time(item["called_back_at"]), item.get("note") or ""]
    return [*first, why(item)]


def choice(item: dict) -> tuple[str, int]:
    who = (item.get("name") or "").strip() or "caller"
    short = who if len(who) <= 40 else who[:39] + "…"
    return f"#{item['id']} · {short} · {item['phone']}", item["id"]


def summary(done: bool, total: int) -> str:
    if done:
        return f"**{total}** call-back{'s' if total != 1 else ''} made, the latest first."
    if total:
        return f"**{total}** caller{'s' if total != 1 else ''} to call back, the longest waiting first."
    return NOTHING_TO_CALL


def mark_called_back(client: ApiClient, callback_id: int, note: str | None) -> tuple[str, bool]:
    """What marking said, and whether the note is used up (cleared)."""
    try:
        client.callback_done(callback_id, note)
    except ApiError as exc:
        if exc.status_code == 409:
            return f"Call-back #{callback_id} had already been marked, so this click changed nothing.", True
        return exc.explain(), False
    return f"Call-back #{callback_id} marked called back.", True


def build(client_for: ClientFor, tab: gr.Tab, timer: gr.Timer) -> None:
    shown_rows = gr.State([])
    with gr.Row(elem_classes="action-row"):
        which = gr.Radio([TO_CALL, CALLED], value=TO_CALL, label="Show", elem_id="callbacks-which", scale=3)
        refresh_button = gr.Button("Refresh", elem_id="callbacks-refresh", scale=0, min_width=110)
    count = gr.Markdown(elem_id="callbacks-count")
    table = widgets.read_only_table(
        OPEN_HEADERS,
        "callbacks-table",
        ["6%", "14%", "16%", "34%", "16%", "14%"],
        label="Callers to phone back, the longest waiting first (click a row to mark it)",
    )
    phone_cards = gr.HTML(elem_id="callbacks-cards", elem_classes="phone-cards")
    with gr.Group():
        selected = gr.Dropdown(
            label="Call-back to mark", choices=[], value=None, allow_custom_value=True, elem_id="callbacks-select"
        )
        note = gr.Textbox(
            label="Note (optional): what came of the call",
            max_lines=3,
            max_length=500,
            elem_id="callbacks-note",
            placeholder="e.g. booked for Friday 3 pm; left a voicemail",
        )
        mark = gr.Button("Mark called back", variant="primary", elem_id="callbacks-mark")
    result = gr.Markdown(elem_id="callbacks-result")

    def fetch(shown: str, request: gr.Request) -> tuple[bool, list[dict], int]:
        done = shown == CALLED
        page = client_for(request).callbacks("done" if done else "open")
        return done, page["items"], int(page["total"])

    def view(done: bool, items: list[dict], total: int, keep: int | None = None):
        rows = [row(i, done) for i in items]
        kept = keep if keep in [i["id"] for i in items] and not done else None
        return (
            summary(done, total),
            gr.Dataframe(value=rows, headers=DONE_HEADERS if done else OPEN_HEADERS),
            gr.Dropdown(choices=[] if done else [choice(i) for i in items], value=kept),
            rows,
            cards.callback_cards(items, done, why),
        )

    def load(shown: str, request: gr.Request):
        try:
            return view(*fetch(shown, request))
        except ApiError as exc:
            return exc.explain(), gr.skip(), gr.skip(), gr.skip(), gr.skip()

    def refresh(shown: str, current, before: list, request: gr.Request):
        """Every few seconds, only when the list changed, keeping the call-back being marked."""
        try:
            done, items, total = fetch(shown, request)
        except ApiError:  # the next tick tries again; a click shows the error
            return [gr.skip()] * 5
        if [row(i, done) for i in items] == before:
            return [gr.skip()] * 5
        return view(done, items, total, keep=views.as_id(current))

    loaded = [count, table, selected, shown_rows, phone_cards]

    def mark_done(current, text, request: gr.Request):
        callback_id = views.as_id(current)
        if callback_id is None:
            return "Pick a caller from the list first.", gr.skip()
        said, used = mark_called_back(client_for(request), callback_id, (text or "").strip() or None)
        return said, "" if used else gr.skip()

    def pick_row(rows, event: gr.SelectData):
        picked = views.id_at_row([r[0] for r in rows], event.index)
        return gr.skip() if picked is None else picked

    for trigger in (tab.select, which.change, refresh_button.click):
        trigger(load, [which], loaded)
    mark.click(mark_done, [selected, note], [result, note]).then(load, [which], loaded)
    table.select(pick_row, [shown_rows], [selected])
    timer.tick(refresh, [which, selected, shown_rows], loaded, show_progress="hidden", api_visibility="private")

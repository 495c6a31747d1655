"""History tab: resolved, unresolved and dismissed requests, with their callers and who answered, filtered by
status and searched as plain text."""

from __future__ import annotations

import gradio as gr

from supervisor_gradio import views, widgets
from supervisor_gradio.api import ApiError, ClientFor


def build(client_for: ClientFor, tab: gr.Tab) -> None:
    with gr.Row(elem_classes="action-row"):
        status_filter = gr.Radio(
            ["all", "resolved", "unresolved", "dismissed"],
            value="all",
            label="Status",
            elem_id="history-status",
            scale=2,
        )
        search = gr.Textbox(label="Search (question, answer, who)", elem_id="history-search", scale=2)
        refresh = gr.Button("Refresh", elem_id="history-refresh", scale=0, min_width=110)
    note = gr.Markdown(elem_id="history-note")
    table = widgets.read_only_table(views.HISTORY_HEADERS, "history-table", views.HISTORY_WIDTHS)

    def load(status, text, request: gr.Request):
        """Fetched pages are filtered here; the text is matched as a plain substring."""
        try:
            items = client_for(request).all_help_requests(None if status == "all" else status)
        except ApiError as exc:
            return exc.explain(), gr.skip()
        items = [item for item in items if item["status"] != "pending" and views.matches(item, text or "")]
        found = f"{len(items)} request{'s' if len(items) != 1 else ''}" if items else "Nothing matches."
        return found, gr.Dataframe(value=[views.history_row(i) for i in items], headers=views.HISTORY_HEADERS)

    for trigger in (tab.select, status_filter.change, search.submit, refresh.click):
        trigger(load, [status_filter, search], [note, table])

"""The supervisor console: a Gradio Blocks app that works only through the service's HTTP API.

Caller and answer text only ever goes into Textbox, Dropdown and Dataframe ("str" cells) values, which the
browser shows as text, or HTML-escaped into the phone-width cards (cards.py, the one place that writes HTML).
Markdown holds our own words, ids and numbers, never caller text."""

from __future__ import annotations

import gradio as gr

from supervisor_gradio import (
    alerts,
    audit_tab,
    callbacks_tab,
    cards,
    history_tab,
    import_tab,
    insights_tab,
    knowledge_tab,
    pending_tab,
)
from supervisor_gradio.api import SHARED_USER, ClientFor

USER = SHARED_USER
JS = f"() => {{ {cards.JS} ({alerts.JS.strip()})(); }}"
AUTH_MESSAGE = (
    "Sign in with your own name and password (frontdesk supervisors add NAME), "
    "or as “supervisor” with the supervisor token."
)

# The system's fonts: Gradio's bundled web font left "KB" in the title half in a fallback face ("Kʙ").
THEME = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
# No favicon: the console's pages ask for none (mount.py answers the sign-in page's request with 204).
HEAD = '<link rel="icon" href="data:,">'

CSS = (
    cards.CSS
    + """
#console-header { font-size: 1.05rem; }
.machine-only { display: none !important; }  /* read by the page's alert script, not by people */
.alert-toggles { gap: 0.25rem 1rem; flex-wrap: wrap; justify-content: flex-start !important; }
.alert-toggles > * { flex: 0 1 auto !important; min-width: 0 !important; width: auto !important; margin: 0 !important; }
/* Tables are read-only lists (a click opens the row): no cell outline, selection or cell menu buttons that
   suggest a cell can be edited. */
[role=grid] .body-cell { cursor: pointer; }
[role=grid] .body-cell.cell-selected, [role=grid] .body-cell.cell-selected * {
  box-shadow: none !important; animation: none !important;
}
[role=grid] .body-cell :is(.selection-button, .cell-menu-button) { display: none !important; }
.action-row { align-items: flex-end; }
.action-row button { max-height: 3.2rem; }
/* "Use this answer", "Add phrasing", "Yes, delete it": one line, never narrower than their label */
.action-row button, .button-row button { white-space: nowrap; min-width: fit-content !important; }
/* Gradio announces each finished event to screen readers with an untranslated "common.complete": the
   console's own result lines say what happened. */
div.sr-only[role=status][aria-live] { display: none !important; }
.button-row { flex-wrap: wrap; gap: 0.5rem; }
.button-row > button { flex: 1 1 auto; min-width: max-content !important; }
/* An accordion's header ("Select several") is a button: big enough to tap, its arrow inside it. */
.gr-accordion > button.label-wrap { min-height: 2.75rem; }
.gr-accordion > button.label-wrap .icon {
  width: 1.5rem !important; height: 1.5rem; margin: 0 !important;
  display: inline-flex; align-items: center; justify-content: center;
}
.verdict-row { flex-wrap: nowrap; }  /* Right and Wrong side by side, even on a phone */
.verdict-row > button { flex: 1 1 0; min-width: 0; white-space: nowrap; }
@media (max-width: 640px) {  /* a phone between clients: stack the box and its button */
  .action-row { flex-direction: column; align-items: stretch; }
  .action-row > * { width: 100%; max-width: none; min-width: 0 !important; }
  /* The queue keeps question, caller, wait and time left; the number, the call so far and the caller count need a
     wider screen (the number and the call so far are in the answer form too). Gradio sizes the columns in pixels
     from the desktop shares, so the phone's shares are set here, alike for the header cells and the row cells. */
  #pending-table :is(th, td, [role=gridcell]):is(:nth-child(1), :nth-child(3), :nth-child(5)) { display: none !important; }
  #pending-table table { table-layout: fixed; }
  #pending-table table, #pending-table div:has(> [role=row]) { width: 100% !important; }
  #pending-table :is(th, td, [role=gridcell]) { min-width: 0 !important; max-width: none !important; }
  #pending-table :is(th, td):nth-child(2) { width: 40% !important; }
  #pending-table :is(th, td):nth-child(4) { width: 24% !important; }
  #pending-table :is(th, td):is(:nth-child(6), :nth-child(7)) { width: 18% !important; }
  #pending-table [role=gridcell]:nth-child(2) { flex: 0 0 40% !important; width: 40% !important; }
  #pending-table [role=gridcell]:nth-child(4) { flex: 0 0 24% !important; width: 24% !important; }
  #pending-table [role=gridcell]:is(:nth-child(6), :nth-child(7)) { flex: 0 0 18% !important; width: 18% !important; }
  #pending-table th span { white-space: nowrap; font-size: 0.75rem; }
  #pending-table th button { display: none; }  /* the column menu: no room, and nothing to sort on a phone */
}
"""
)


def build_console(client_for: ClientFor, refresh_seconds: float = 3.0) -> gr.Blocks:
    """`client_for(request)` gives the ApiClient for an event: fixed when standalone, per socket when mounted."""
    with gr.Blocks(title=alerts.TITLE, analytics_enabled=False) as blocks:
        gr.Markdown("## FrontDesk KB · Supervisor console")
        header = gr.Markdown("Loading counts…", elem_id="console-header")
        signal = alerts.build()
        timer = gr.Timer(refresh_seconds)
        with gr.Tabs() as tabs:
            with gr.Tab("Pending", id="pending"):
                pending_tab.build(client_for, header, signal, timer, blocks)
            with gr.Tab("Audit", id="audit") as audit:
                open_entry, wrong_entry = audit_tab.build(client_for, header, timer, audit, blocks)
            with gr.Tab("Call-backs", id="callbacks") as callbacks:
                callbacks_tab.build(client_for, callbacks, timer)
            with gr.Tab("History", id="history") as history:
                history_tab.build(client_for, history)
            with gr.Tab("Knowledge base", id="knowledge") as knowledge:
                editor = knowledge_tab.build(client_for, knowledge)
            with gr.Tab("Import", id="import"):
                import_tab.build(client_for)
            with gr.Tab("Insights", id="insights") as insights:
                insights_tab.build(client_for, insights)

        def open_in_editor(knowledge_id, request: gr.Request):
            """Audit's "Open entry #N": the Knowledge base tab, with that entry in the editor."""
            return {tabs: gr.Tabs(selected="knowledge"), **editor.open(client_for(request), knowledge_id)}

        open_entry.click(open_in_editor, [wrong_entry], [tabs, *editor.outputs])
    # A few events at once (the timer, a resolve, a search) without tying up the server's worker threads.
    blocks.queue(default_concurrency_limit=4)
    return blocks

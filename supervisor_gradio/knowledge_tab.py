"""Knowledge base tab: search by meaning, or list all; click a row (tap a card on a phone) to edit the entry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from supervisor_gradio import cards, entry_editor, views, widgets
from supervisor_gradio.api import ApiClient, ApiError, ClientFor


def summary_of(text: str, page: dict, shown: list[dict], everything: bool) -> str:
    items, total = page["items"], page["total"]
    if not text:
        listed = views.plural(total, "entry", "entries")
        return listed + (f" (first {len(items)} shown)" if total > len(items) else "")
    if everything:
        return f"All {views.plural(len(items), 'entry', 'entries')}, nearest in meaning first."
    if shown:
        return f"{len(shown)} of {len(items)} entries match, nearest in meaning first."
    return "No entry comes close to that."


@dataclass
class EntryList:
    """The search results or the full list, as a table (a desktop) and as cards (a phone)."""

    note: gr.Markdown
    show_all: gr.Button
    table: gr.Dataframe
    phone_cards: gr.HTML
    shown_ids: gr.State

    @property
    def outputs(self) -> list:
        return [self.note, self.show_all, self.table, self.phone_cards, self.shown_ids]

    def fill(self, client: ApiClient, text: str, everything: bool) -> dict:
        """A search shows the relevant entries (views.relevant), with a button for the rest; a list shows all."""
        text = (text or "").strip()
        try:
            page = client.knowledge(q=text or None, limit=200)
        except ApiError as exc:
            return {self.note: exc.explain()}
        items = page["items"]
        shown = items if everything or not text else [e for e in items if views.relevant(e, text)]
        headers, widths = (
            (views.SEARCH_HEADERS, views.SEARCH_WIDTHS) if text else (views.KNOWLEDGE_HEADERS, views.KNOWLEDGE_WIDTHS)
        )
        rows = [views.knowledge_row(e) for e in shown]
        return {
            self.note: summary_of(text, page, shown, everything),
            self.show_all: gr.Button(
                visible=len(shown) < len(items), value=f"Show all {len(items)} entries, nearest first"
            ),
            self.table: gr.Dataframe(value=rows, headers=headers, column_widths=widths),
            self.phone_cards: cards.knowledge_cards(shown),
            self.shown_ids: [e["id"] for e in shown],
        }


def build(client_for: ClientFor, tab: gr.Tab) -> entry_editor.EntryEditor:
    """Returns the entry editor, which other tabs open entries in (Audit's "Open entry")."""
    with gr.Row(elem_classes="action-row"):
        query = gr.Textbox(label="Search by meaning", scale=4, elem_id="kb-query")
        search = gr.Button("Search", scale=0, min_width=110, elem_id="kb-search")
        list_all_button = gr.Button("List all", scale=0, min_width=110, elem_id="kb-all")
    entries = EntryList(
        gr.Markdown(elem_id="kb-note"),
        gr.Button(visible=False, size="sm", elem_id="kb-show-all"),
        widgets.read_only_table(
            views.KNOWLEDGE_HEADERS, "kb-table", views.KNOWLEDGE_WIDTHS, label="Entries (click a row to edit it)"
        ),
        gr.HTML(elem_id="kb-cards", elem_classes="phone-cards"),
        gr.State([]),
    )
    open_id = gr.Textbox(elem_id="kb-open-id", elem_classes="machine-only", show_label=False, container=False)

    def list_relevant(text, request: gr.Request):
        return entries.fill(client_for(request), text, False)

    def list_everything(text, request: gr.Request):
        return entries.fill(client_for(request), text, True)

    def list_all(request: gr.Request):
        return {query: "", **entries.fill(client_for(request), "", False)}

    refresh_list: dict[str, Any] = {"fn": list_relevant, "inputs": [query], "outputs": entries.outputs}
    for trigger in (search.click, query.submit, tab.select):
        trigger(**refresh_list)
    entries.show_all.click(list_everything, [query], entries.outputs)
    list_all_button.click(list_all, None, [query, *entries.outputs])
    editor = entry_editor.build(client_for, refresh_list)

    def open_row(ids, event: gr.SelectData, request: gr.Request):
        return editor.open(client_for(request), views.id_at_row(ids, event.index))

    def open_card(value, request: gr.Request):
        return editor.open(client_for(request), views.as_id(value))

    entries.table.select(open_row, [entries.shown_ids], editor.outputs)
    open_id.change(open_card, [open_id], editor.outputs)
    return editor

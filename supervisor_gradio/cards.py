"""Lists as stacked cards for phone width (the tables need a wider screen): call-backs with tap-to-call numbers,
and knowledge entries a tap opens.

Every caller and answer text is HTML-escaped here, the one place the console writes HTML; a `tel:` link holds
only the digits and `+` of the phone number."""

from __future__ import annotations

import html
import re

from supervisor_gradio import views


def tel_link(phone: str | None) -> str:
    """A tap-to-call link that never wraps mid-number, or nothing for no number."""
    if not phone:
        return ""
    dial = re.sub(r"[^0-9+]", "", phone)
    return f'<a class="phone" href="tel:{dial}">{html.escape(phone)}</a>'


def _field(label: str, value: str) -> str:
    """`value` is HTML already escaped (or our own link)."""
    return f'<div class="card-field"><span class="card-label">{label}</span> <span>{value}</span></div>'


def _cards(cards: list[str], empty: str, pick: str | None) -> str:
    if not cards:
        return f'<p class="cards-empty">{empty}</p>'
    picked = f' data-pick="{pick}"' if pick else ""
    return f'<ul class="cards"{picked}>' + "".join(cards) + "</ul>"


def callback_cards(items: list[dict], done: bool, why) -> str:
    cards = []
    for item in items:
        fields = [
            _field("Caller", html.escape((item.get("name") or "").strip() or "caller")),
            _field("Phone", tel_link(item["phone"])),
            _field("Question", html.escape(item["question"] or "")),
            _field("Asked", html.escape(views.local_time(item["asked_at"]))),
        ]
        if done:
            fields.append(_field("Called back", html.escape(views.local_time(item["called_back_at"]))))
            if item.get("note"):
                fields.append(_field("Note", html.escape(item["note"])))
        else:
            fields.append(_field("Why", html.escape(why(item))))
        cards.append(f'<li class="card" data-id="{int(item["id"])}"><b>#{int(item["id"])}</b>{"".join(fields)}</li>')
    return _cards(cards, "Nobody here.", None)


def knowledge_cards(entries: list[dict]) -> str:
    """Tapping a card opens that entry in the editor (the page's script hands its number to `#kb-open-id`)."""
    cards = []
    for entry in entries:
        phrasings = "<br>".join(html.escape(p["question"]) for p in entry["phrasings"])
        match = f" · {views.suggestion_strength(entry['score'])} match" if entry.get("score") is not None else ""
        used = html.escape(views.local_time(entry.get("last_used_at")) or "never")
        head = f"<b>#{int(entry['id'])}</b> · used {int(entry['hit_count'])}×, last {used}{match}"
        fields = _field("Answer", html.escape(entry["answer"])) + _field("Phrasings", phrasings)
        cards.append(f'<li class="card" role="button" tabindex="0" data-id="{int(entry["id"])}">{head}{fields}</li>')
    return _cards(cards, "No entries to show.", "kb-open-id")


CSS = """
.phone-cards { display: none; }
.cards { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 0.5rem; }
.cards .card { border: 1px solid var(--border-color-primary); border-radius: 0.5rem; padding: 0.6rem 0.75rem; }
.cards[data-pick] .card { cursor: pointer; }
.card-field { margin-top: 0.25rem; overflow-wrap: break-word; hyphens: none; }
.card-label { color: var(--body-text-color-subdued); font-size: 0.85em; margin-right: 0.25rem; }
.cards a.phone { white-space: nowrap; font-weight: 600; display: inline-block; padding: 0.35rem 0; }
@media (max-width: 640px) {
  .phone-cards { display: block; }
  #callbacks-table, #kb-table { display: none !important; }
}
"""

# Run once by the page (console JS): a tap on a pickable card hands its number to the hidden box named by the
# list's `data-pick`, whose `input` event opens it. Links inside a card (tel:) keep their own meaning.
JS = """
const pickCard = (event) => {
  if (event.target.closest("a")) return;
  const card = event.target.closest(".cards[data-pick] .card");
  if (!card) return;
  const box = document.querySelector(`#${card.parentElement.dataset.pick} :is(textarea, input)`);
  if (!box) return;
  box.value = `${card.dataset.id} ${Date.now()}`;  // a new value each time: the same card twice opens it twice
  box.dispatchEvent(new Event("input", {bubbles: true}));
};
document.addEventListener("click", pickCard);
document.addEventListener("keydown", (event) => { if (event.key === "Enter") pickCard(event); });
"""

"""Turning API JSON into table rows and short texts. Pure functions: no Gradio, no HTTP."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from kb_service.ops.logs import mask_phone

# Short headers: the table must still read on a phone.
PENDING_HEADERS = ["#", "Question", "Earlier in the call", "Caller", "Callers", "Waited", "Left"]
PENDING_WIDTHS: list[str | int] = ["6%", "28%", "26%", "14%", "8%", "9%", "9%"]
HISTORY_HEADERS = ["#", "Status", "Question", "Caller", "Answer", "Answered by", "When", "Waited"]
HISTORY_WIDTHS: list[str | int] = ["5%", "9%", "21%", "12%", "24%", "11%", "11%", "7%"]
KNOWLEDGE_HEADERS = ["#", "Answer", "Phrasings", "Hits", "Last used"]
KNOWLEDGE_WIDTHS: list[str | int] = ["6%", "40%", "36%", "6%", "12%"]
SEARCH_HEADERS = [*KNOWLEDGE_HEADERS, "Match"]  # search results say how close each is, in words
SEARCH_WIDTHS: list[str | int] = ["6%", "36%", "32%", "6%", "11%", "9%"]


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def seconds_between(start: str, end: datetime) -> float:
    """Seconds from the service's timestamp `start` (always set where this is used) to `end`."""
    moment = parse_time(start)
    return 0.0 if moment is None else (end - moment).total_seconds()


def who(name: str | None, phone: str | None) -> str:
    parts = [p for p in ((name or "").strip(), mask_phone(phone)) if p]
    return " · ".join(parts) or "anonymous"


def duration(seconds: float) -> str:
    """`45 s`, `12 min`, `1 h 05 min`, `2 d 3 h`: short enough for a phone screen."""
    seconds = max(int(seconds), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def plural(count: int, noun: str, many: str | None = None) -> str:
    """`1 caller`, `2 callers`; `many` for the rest (`1 entry`, `2 entries`)."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"


def local_time(value: str | None) -> str:
    moment = parse_time(value)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M %Z") if moment else ""  # the service's time zone


def pending_row(item: dict, at: datetime) -> list:
    callers = item.get("callers") or []
    first = callers[0] if callers else {"name": item.get("caller_name"), "phone": item.get("caller_phone")}
    left = -seconds_between(item["deadline_at"], at)
    return [
        item["id"],
        item["question"],
        transcript_line(item.get("transcript") or []),
        who(first.get("name"), first.get("phone")),
        len(callers),
        duration(seconds_between(item["created_at"], at)),
        duration(left) if left > 0 else "timing out",
    ]


OUTCOME_WORDS = {"answered": "answered", "confirm": "checked with the caller", "escalated": "sent to you"}


def transcript_line(turns: list[dict], answer_chars: int = 60) -> str:
    """The call's earlier questions on one line, oldest first: `“…?” → answered “…” · “…?” → sent to you`."""
    parts = []
    for turn in turns:
        what = OUTCOME_WORDS.get(turn["outcome"], turn["outcome"])
        answer = turn.get("answer") or ""
        if answer:
            what += f" “{answer if len(answer) <= answer_chars else answer[: answer_chars - 1] + '…'}”"
        parts.append(f"“{turn['question']}” → {what}")
    return " · ".join(parts)


def references(item: dict) -> str:
    """The callers' own reference numbers (what each caller was told), beside the console's request number."""
    refs = [int(c["reference"]) for c in item.get("callers") or []]
    if not refs:
        return ""
    told = ", ".join(str(r) for r in refs)
    return (
        f"**Request #{int(item['id'])}** is this console's number for the question. "
        f"The caller{'s were' if len(refs) > 1 else ' was'} given reference {told}: a caller who quotes it means "
        "this request."
    )


def pending_choice(item: dict) -> tuple[str, int]:
    question = item["question"]
    short = question if len(question) <= 70 else question[:69] + "…"
    return f"#{item['id']} · {short}", item["id"]


def finished_at(item: dict) -> str | None:
    return item.get("resolved_at") or item.get("expired_at") or item.get("dismissed_at")


def callers_text(item: dict) -> str:
    """Every waiting caller's name, or a masked phone, or `anonymous`."""
    callers = item.get("callers") or [{"name": item.get("caller_name"), "phone": item.get("caller_phone")}]
    return ", ".join(who(c.get("name"), c.get("phone")) for c in callers)


def answered_by(item: dict) -> str:
    if item["status"] == "dismissed":
        return f"dismissed by {item.get('dismissed_by') or 'supervisor'}"
    return item.get("answered_by") or ("timed out" if item["status"] == "unresolved" else "")


def history_row(item: dict) -> list:
    done = parse_time(finished_at(item))
    waited = duration(seconds_between(item["created_at"], done)) if done else ""
    return [
        item["id"],
        item["status"],
        item["question"],
        callers_text(item),
        item.get("answer") or "",
        answered_by(item),
        local_time(finished_at(item)),
        waited,
    ]


def matches(item: dict, text: str) -> bool:
    """Plain case-insensitive substring search over what the supervisor can see (never a regex)."""
    needle = text.strip().casefold()
    if not needle:
        return True
    callers = item.get("callers") or []
    haystack = [
        item.get("question"),
        item.get("answer"),
        item.get("answered_by"),
        item.get("dismissed_by"),
        *(c.get("name") for c in callers),
    ]
    return any(needle in value.casefold() for value in haystack if value)


# Cut-offs on a suggestion's cosine score, read off the demo salon's entries with the default model: a caller's
# paraphrase of an entry scores about 0.72-0.96 against it ("what does a trim cost" 0.79 to the haircut prices),
# while the nearest unrelated entry scores 0.40-0.64 (eyebrow waxing 0.64 to the list of hair services).
STRONG_SUGGESTION = 0.80
POSSIBLE_SUGGESTION = 0.65


def suggestion_strength(score: float) -> str:
    """`strong`, `possible` or `weak`: how far the supervisor can trust a suggested answer at a glance."""
    if score >= STRONG_SUGGESTION:
        return "strong"
    return "possible" if score >= POSSIBLE_SUGGESTION else "weak"


def knowledge_row(entry: dict) -> list:
    """A table row; a search result (with `score`) ends with how close it is, in words."""
    row = [
        entry["id"],
        entry["answer"],
        " | ".join(p["question"] for p in entry["phrasings"]),
        entry["hit_count"],
        local_time(entry.get("last_used_at")) or "never",
    ]
    return row if entry.get("score") is None else [*row, suggestion_strength(entry["score"])]


# A search shows the entries at least this close in meaning, or that contain the words searched for: one-word
# searches score low against whole questions ("gift" 0.51 to the gift-card entry, "colour" 0.36 to the colour
# prices), while unrelated entries stay under 0.45 with the default model.
SEARCH_RELEVANT = 0.50


def relevant(entry: dict, text: str) -> bool:
    needle = text.strip().casefold()
    words = [entry["answer"], *(p["question"] for p in entry["phrasings"])]
    return entry.get("score", 0) >= SEARCH_RELEVANT or any(needle in w.casefold() for w in words)


def phrasing_lines(text: str) -> list[str]:
    """One phrasing per line; blank lines and repeats dropped, order kept."""
    seen: dict[str, None] = {}
    for line in (text or "").splitlines():
        if line.strip():
            seen.setdefault(line.strip(), None)
    return list(seen)


def header_markdown(dashboard: dict, quality: dict | None = None) -> str:
    """Numbers only: no caller text ever goes into Markdown."""
    rate = dashboard.get("auto_answer_rate_24h")
    rate_text = "n/a" if rate is None else f"{rate:.0%}"
    counts = (
        f"**{int(dashboard['pending'])}** pending · **{int(dashboard['resolved_today'])}** resolved today · "
        f"**{int(dashboard['unresolved_today'])}** unresolved today · "
        f"**{int(dashboard.get('dismissed_today', 0))}** dismissed today · "
        f"auto-answered (24 h): **{rate_text}** of {plural(int(dashboard['asks_last_24h']), 'question')}"
    )
    return counts if quality is None else f"{counts}\n\n{precision_markdown(quality)}"


def precision_markdown(quality: dict) -> str:
    """`Auto-answer precision 97% (95% CI 91–99%, 42 checks) · 3 to review`, from `GET /api/quality`.

    The interval is rounded outwards, so it never reads narrower than the service measured."""
    labels = int(quality["labels"])
    waiting = f"**{int(quality['audits_waiting'])}** to review"
    if not labels or quality.get("precision") is None:
        return f"Auto-answer precision: not measured yet · {waiting}"
    lower = math.floor(quality["lower"] * 100 + 1e-9)
    upper = math.ceil(quality["upper"] * 100 - 1e-9)
    return (
        f"Auto-answer precision **{quality['precision']:.0%}** "
        f"(95% CI {lower}–{upper}%, {labels} check{'s' if labels != 1 else ''}) · {waiting}"
    )


def audit_caption(item: dict, at: datetime) -> str:
    """Ids and times only (the question and answer go into text boxes)."""
    ago = duration(seconds_between(item["asked_at"], at))
    when = f"{local_time(item['asked_at'])} ({ago} ago)"
    return f"**Auto-answer #{int(item['id'])}** · {when} · entry #{int(item['knowledge_id'])}"


def audits_left(total: int) -> str:
    return f"**{total}** auto-answer{'s' if total != 1 else ''} to review, oldest first."


def as_id(value) -> int | None:
    """A dropdown or number value as an id, or None. A typed value that isn't a number is no selection."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(str(value).lstrip("#").split(" ")[0].split(".")[0])
    except ValueError:
        return None


def id_at_row(ids: list[int], index) -> int | None:
    """The id shown in the clicked table row (`SelectData.index` is `[row, column]`)."""
    row = index[0] if isinstance(index, list | tuple) else index
    return ids[row] if isinstance(row, int) and 0 <= row < len(ids) else None

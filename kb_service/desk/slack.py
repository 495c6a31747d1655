"""New help requests as Slack incoming-webhook messages (`KB_SUPERVISOR_WEBHOOK_FORMAT=slack`), where many teams
already look, instead of the signed Standard Webhooks JSON.

Queued on the outbox under its own channel, so they are retried like any webhook. The wait is worked out when
the message leaves, so a message delayed by retries says how long the caller has really waited."""

from __future__ import annotations

from datetime import datetime

CHANNEL = "slack"


def escape(text: str) -> str:
    """Caller text as one line of plain text: Slack reads `<…>` as links and mentions (`<!channel>`), so &, < and >
    are escaped as its docs say, and every newline or other line break is collapsed into a space, so a question
    cannot start a line of its own ("✅ *Resolved.* New console: …") inside the message."""
    one_line = " ".join(text.split())  # str.split() breaks on \n, \r, \u2028, \u2029, \x85 and other whitespace
    return one_line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def waited(seconds: float) -> str:
    minutes = max(int(seconds), 0) // 60
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def message(payload: dict, at: datetime) -> dict:
    """`{"text": …}`: the question, how long it has waited, and a link to the console when KB_PUBLIC_URL is set."""
    wait = waited((at - datetime.fromisoformat(payload["created_at"])).total_seconds())
    text = (
        f":bell: A caller is waiting for an answer ({wait}): "
        f"\u201c{escape(payload['question'])}\u201d (request #{int(payload['help_request_id'])})"
    )
    if payload.get("console_url"):
        text += f"\n<{payload['console_url']}|Answer it in the supervisor console>"
    return {"text": text}

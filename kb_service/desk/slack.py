"""New help requests as Slack incoming-webhook messages (`KB_SUPERVISOR_WEBHOOK_FORMAT=slack`), where many teams
already look, instead of the signed Standard Webhooks JSON.

Queued on the outbox under its own channel, so they are retried like any webhook. The wait is worked out when
the message leaves, so a message delayed by retries says how long the caller has really waited."""

from __future__ import annotations

from datetime import datetime

CHANNEL = "slack"


def escape(text: str) -> str:
    """Slack reads `<…>` as links and mentions (`<!channel>`): caller text goes in as plain text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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

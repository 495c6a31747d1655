"""Texts to callers, through the caller webhook (the SMS gateway): the rules every text obeys.

A text goes only to a number its caller proved (desk/phones.py), within hourly caps per number, per client IP
and in all (`KB_SMS_PER_NUMBER_PER_HOUR`, `KB_SMS_PER_IP_PER_HOUR`, `KB_SMS_PER_HOUR`), and never carries the
caller's own words: a name or a question typed by a stranger would go out signed with the business's name
(smishing). A text refers to "your question from 3:05 pm" and links to the call instead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kb_service.errors import DomainError
from kb_service.storage.store import Store, Tx, iso, iso_in, now

HOUR = 3600.0


class TooManyTexts(DomainError):
    """An hourly cap on texts is reached: 429 with Retry-After."""

    status_code = 429

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after)}


@dataclass(frozen=True)
class TextCaps:
    """Texts an hour (0: no cap) to one number, asked for from one client IP, and from the whole business."""

    per_number: int = 5
    per_ip: int = 10
    in_all: int = 100


def digits(phone: str | None) -> str:
    """The number as its digits only, so "+1 (555) 123-4567" and "15551234567" are the same number."""
    return "".join(c for c in phone or "" if c.isdigit())


def over_cap(tx: Tx, caps: TextCaps, phone: str, client_ip: str | None = None) -> str | None:
    """Which hourly cap one more text to `phone` (asked from `client_ip`) would break, or None."""
    since = iso_in(-HOUR)
    checks = [
        (caps.per_number, "phone = ?", (digits(phone),), "this number"),
        (caps.in_all, "1 = 1", (), "this business"),
    ]
    if client_ip is not None:
        checks.insert(1, (caps.per_ip, "client_ip = ?", (client_ip,), "this client"))
    for cap, where, params, whom in checks:
        if (
            cap
            and tx.execute(
                f"SELECT COUNT(*) FROM texts_sent WHERE sent_at > ? AND {where}", (since, *params)
            ).fetchone()[0]
            >= cap
        ):
            return f"{whom} has had {cap} texts in the last hour"
    return None


def record(tx: Tx, phone: str, kind: str, client_ip: str | None = None) -> None:
    tx.execute(
        "INSERT INTO texts_sent (phone, client_ip, kind, sent_at) VALUES (?, ?, ?, ?)",
        (digits(phone), client_ip, kind, iso(now())),
    )


def asked_when(stamp: str, today: datetime | None = None) -> str:
    """When a question was asked, in the service's time zone: "3:05 pm", or "Mon 7 Dec, 3:05 pm" another day."""
    moment = datetime.fromisoformat(stamp).astimezone()
    clock = moment.strftime("%I:%M %p").lstrip("0").lower()
    if moment.date() == (today or now()).astimezone().date():
        return clock
    return f"{moment.strftime('%a')} {moment.day} {moment.strftime('%b')}, {clock}"


def followup_text(business: str, asked_at: str, answer: str | None, link: str | None) -> str:
    """The text for a follow-up: the supervisor's answer (or an apology), with no words of the caller's."""
    when = asked_when(asked_at)
    if answer is None:
        text = (
            f"Hi, this is {business}. Sorry, we could not get you an answer to your question from {when} in time."
            " Someone will call you back as soon as possible."
        )
    else:
        text = f"Hi, this is {business}, about your question from {when}: {answer}"
    return f"{text} {link}" if link else text


def forget_old(store: Store) -> int:
    """Texts older than a day count for no cap: forgotten (they hold phone numbers)."""
    with store.write() as tx:
        return tx.execute("DELETE FROM texts_sent WHERE sent_at < ?", (iso_in(-24 * HOUR),)).rowcount

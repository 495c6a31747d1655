"""The outbox: notifications written in the same transaction as the change they announce, then delivered
at least once, with retries, across restarts.

Console lines and webhooks are delivered apart: console lines by a worker of their own that never waits on
the network (`deliver_console`), webhooks by per-target queues with a deadline per attempt (desk/delivery.py).
A claim leases rows to one process; the lease outlasts every attempt it covers, so another replica never sends
a row that is still being sent."""

from __future__ import annotations

import json
import logging
import random
import re
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

from kb_service.desk import slack
from kb_service.storage.store import Row, Store, Tx, iso, iso_in, now

log = logging.getLogger("frontdesk.outbox")
console = logging.getLogger("frontdesk.console")

LEASE_MARGIN_SECONDS = 5.0  # a claim lasts this, plus one attempt's deadline for each row it holds
CONSOLE = "console"
WEBHOOK = "webhook"
WEBHOOK_CHANNELS = (WEBHOOK, slack.CHANNEL)
_URL = re.compile(r"https?://[^\s'\"<>]+")


def origin(url: str) -> str:
    """Only scheme and host of a webhook URL: for Slack and many gateways the path is the secret."""
    parts = url.split("/", 3)
    return "/".join(parts[:3]) if len(parts) >= 3 else "(webhook)"


def describe(exc: BaseException) -> str:
    """An attempt's failure, for logs and `outbox.last_error`, with every URL cut to its origin."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return _URL.sub(lambda m: origin(m.group(0)), text)[:500]


def queue(
    tx: Tx,
    event_type: str,
    channel: str,
    payload: dict,
    target: str | None = None,
    stamp: str | None = None,
) -> str:
    """Queue one notification, due at once; `stamp` is the transaction's time (`iso(now())` if not given)."""
    event_id = f"msg_{uuid.uuid4().hex}"
    stamp = stamp or iso(now())
    tx.execute(
        "INSERT INTO outbox (event_id, event_type, channel, target, payload, next_attempt_at, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (event_id, event_type, channel, target, json.dumps(payload), stamp, stamp),
    )
    return event_id


class Outbox:
    def __init__(
        self,
        store: Store,
        webhook_secret: str | None = None,
        timeout: float = 5.0,
        max_attempts: int = 8,
        retry_base_seconds: float = 1.0,
    ):
        self.store = store
        self._signer = Webhook(webhook_secret) if webhook_secret else None  # Standard Webhooks signatures
        self.max_attempts = max_attempts
        self.retry_base_seconds = retry_base_seconds
        self.timeout = timeout  # the wall-clock deadline of one webhook attempt

    def deliver_console(self, limit: int = 200) -> int:
        """Write every due console line (the supervisor's "I need help", the SMS stand-in): no network."""
        rows = self.claim((CONSOLE,), limit)
        for row in rows:
            console.info(json.loads(row["payload"])["text"])
        self.mark_delivered([row["id"] for row in rows])
        return len(rows)

    def claim(self, channels: Sequence[str], limit: int, skip_targets: Sequence[str] = ()) -> list[Row]:
        """Lease due rows of these channels to this process, in a short transaction of its own (none is open
        while sending); rows for `skip_targets` (busy or failing) stay for later. Another replica skips leased rows
        until the lease ends; if this one dies, they are retried then. The n-th row for a target is leased for n
        attempts' deadlines, since a target's rows are sent one after another."""
        stamp = iso(now())
        due = (
            f"status = 'pending' AND channel IN ({', '.join('?' * len(channels))}) AND next_attempt_at <= ?"
            " AND (lease_until IS NULL OR lease_until <= ?)"
        )
        if skip_targets:
            due += f" AND target NOT IN ({', '.join('?' * len(skip_targets))})"
        params = (*channels, stamp, stamp, *skip_targets)
        if not self.store.scalar(f"SELECT 1 FROM outbox WHERE {due} LIMIT 1", params):
            return []  # the usual idle round: no write transaction
        with self.store.write(serialised=False) as tx:
            rows = tx.execute(
                f"SELECT * FROM outbox WHERE {due} ORDER BY id LIMIT ?{self.store.skip_locked}", (*params, limit)
            ).fetchall()
            queued: dict[str | None, int] = {}
            leases = []
            for row in rows:
                queued[row["target"]] = queued.get(row["target"], 0) + 1
                leases.append((iso_in(LEASE_MARGIN_SECONDS + self.timeout * queued[row["target"]]), row["id"]))
            tx.executemany("UPDATE outbox SET lease_until = ? WHERE id = ?", leases)
        return rows

    def mark_delivered(self, ids: list[int]) -> None:
        if not ids:
            return
        with self.store.write(serialised=False) as tx:
            tx.executemany(
                "UPDATE outbox SET status = 'delivered', attempts = attempts + 1, delivered_at = ?, lease_until = NULL"
                " WHERE id = ? AND status = 'pending'",
                [(iso(now()), i) for i in ids],
            )

    def release(self, ids: list[int], seconds: float) -> None:
        """Hand rows back unsent and untried, due again in `seconds` (their target is failing)."""
        if not ids:
            return
        with self.store.write(serialised=False) as tx:
            tx.executemany(
                "UPDATE outbox SET lease_until = NULL, next_attempt_at = ? WHERE id = ? AND status = 'pending'",
                [(iso_in(seconds), i) for i in ids],
            )

    def request(self, row: Row) -> tuple[bytes, dict[str, str]]:
        """The body and headers of a webhook row: a Slack message, or signed Standard Webhooks JSON."""
        payload = json.loads(row["payload"])
        if row["channel"] == slack.CHANNEL:
            return json.dumps(slack.message(payload, now())).encode(), {"content-type": "application/json"}
        body = json.dumps({"type": row["event_type"], "id": row["event_id"], "data": payload})
        sent_at = datetime.fromtimestamp(int(time.time()), UTC)
        headers = {
            "content-type": "application/json",
            "webhook-id": row["event_id"],
            "webhook-timestamp": str(int(sent_at.timestamp())),
        }
        if self._signer:
            headers["webhook-signature"] = self._signer.sign(row["event_id"], sent_at, body)
        return body.encode(), headers

    def failed(self, row: Row, exc: BaseException) -> float:
        """Count a failed attempt; returns the delay before the next one."""
        attempts = row["attempts"] + 1
        dead = attempts >= self.max_attempts
        delay = self.retry_base_seconds * 2 ** (attempts - 1) * (1 + random.random() / 2)
        error = describe(exc)
        with self.store.write(serialised=False) as tx:
            tx.execute(
                "UPDATE outbox SET attempts = ?, status = ?, next_attempt_at = ?, last_error = ?, lease_until = NULL"
                " WHERE id = ? AND status = 'pending'",
                (attempts, "dead" if dead else "pending", iso_in(delay), error, row["id"]),
            )
        where = origin(row["target"] or "")
        if dead:
            log.error(
                "gave up on %s %s to %s after %d attempts: %s",
                row["event_type"],
                row["event_id"],
                where,
                attempts,
                error,
            )
        else:
            log.warning(
                "delivery of %s to %s failed (attempt %d), retrying in %.1fs: %s",
                row["event_id"],
                where,
                attempts,
                delay,
                error,
            )
        return delay

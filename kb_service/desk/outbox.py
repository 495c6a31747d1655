"""The outbox: notifications written in the same transaction as the change they announce, then delivered
at least once by a worker, with retries, across restarts."""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from datetime import UTC, datetime

import httpx
from standardwebhooks.webhooks import Webhook

from kb_service.desk import slack
from kb_service.storage.store import Row, Store, Tx, iso, iso_in, now

log = logging.getLogger("frontdesk.outbox")
console = logging.getLogger("frontdesk.console")

LEASE_MARGIN_SECONDS = 5.0  # a claim lasts this, plus the HTTP timeout for each webhook it holds
CONSOLE = "console"
WEBHOOK = "webhook"


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
        self.timeout = timeout
        self._http = httpx.Client(timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def deliver_due(self, limit: int = 50) -> int:
        """Try every message that is due once. Returns how many were delivered."""
        rows = self._claim(limit)
        delivered, console_lines = 0, []
        for row in rows:
            try:
                self._send(row)
            except Exception as exc:  # any failure of the outside world means: try again later
                self._failed(row, exc)
                continue
            if row["channel"] == CONSOLE:  # marked together below: one commit for the round, not one per line
                console_lines.append(row["id"])
            else:  # marked at once: a webhook repeated after a crash costs its receiver a dedupe
                self._mark_delivered([row["id"]])
            delivered += 1
        self._mark_delivered(console_lines)
        return delivered

    def _claim(self, limit: int) -> list[Row]:
        """Lease the due messages to this process, in a short transaction of its own (none is open while
        sending). Another replica skips them until the lease ends; if this one dies, it retries them then."""
        stamp = iso(now())
        due = "status = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)"
        if not self.store.scalar(f"SELECT 1 FROM outbox WHERE {due} LIMIT 1", (stamp, stamp)):
            return []  # the usual idle round: no write transaction
        with self.store.write(serialised=False) as tx:
            rows = tx.execute(
                f"SELECT * FROM outbox WHERE {due} ORDER BY id LIMIT ?{self.store.skip_locked}", (stamp, stamp, limit)
            ).fetchall()
            webhooks = sum(row["channel"] == WEBHOOK for row in rows)
            lease_until = iso_in(LEASE_MARGIN_SECONDS + self.timeout * webhooks)
            tx.executemany("UPDATE outbox SET lease_until = ? WHERE id = ?", [(lease_until, r["id"]) for r in rows])
        return rows

    def _mark_delivered(self, ids: list[int]) -> None:
        if not ids:
            return
        with self.store.write(serialised=False) as tx:
            tx.executemany(
                "UPDATE outbox SET status = 'delivered', attempts = attempts + 1, delivered_at = ?, lease_until = NULL"
                " WHERE id = ? AND status = 'pending'",
                [(iso(now()), i) for i in ids],
            )

    def _send(self, row: Row) -> None:
        payload = json.loads(row["payload"])
        if row["channel"] == CONSOLE:
            console.info(payload["text"])
            return
        if row["channel"] == slack.CHANNEL:
            slack.post(self._http, row["target"], payload)
            return
        body = json.dumps({"type": row["event_type"], "id": row["event_id"], "data": payload})
        sent_at = datetime.fromtimestamp(int(time.time()), UTC)
        headers = {
            "content-type": "application/json",
            "webhook-id": row["event_id"],
            "webhook-timestamp": str(int(sent_at.timestamp())),
        }
        if self._signer:
            headers["webhook-signature"] = self._signer.sign(row["event_id"], sent_at, body)
        response = self._http.post(row["target"], content=body.encode(), headers=headers)
        response.raise_for_status()

    def _failed(self, row: Row, exc: Exception) -> None:
        attempts = row["attempts"] + 1
        dead = attempts >= self.max_attempts
        delay = self.retry_base_seconds * 2 ** (attempts - 1) * (1 + random.random() / 2)
        error = f"{type(exc).__name__}: {exc}"[:500]
        with self.store.write(serialised=False) as tx:
            tx.execute(
                "UPDATE outbox SET attempts = ?, status = ?, next_attempt_at = ?, last_error = ?, lease_until = NULL"
                " WHERE id = ? AND status = 'pending'",
                (attempts, "dead" if dead else "pending", iso_in(delay), error, row["id"]),
            )
        if dead:
            log.error("gave up on %s %s after %d attempts: %s", row["event_type"], row["event_id"], attempts, error)
        else:
            log.warning(
                "delivery of %s failed (attempt %d), retrying in %.1fs: %s", row["event_id"], attempts, delay, error
            )

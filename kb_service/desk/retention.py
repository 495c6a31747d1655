"""KB_RETENTION_DAYS: callers' details older than that are removed or anonymised; the knowledge base never is.

What goes, once a row is older than the cut-off:
- help requests that are no longer pending, and their callers: names and phone numbers (NULL), and each joined
  caller's own words and call-back note (the request keeps its question, which the supervisor answered), so a
  call-back not made by then leaves the Call-backs tab;
- session events (the follow-ups shown on a call page): deleted;
- the ask log: the question becomes "" and the client address NULL (the row stays, for the counts and the live
  calibration);
- confirmations no longer open: the question becomes "", its embedding empty, name, phone and client address
  NULL (the caller's label stops counting);
- audits: a reviewed one's question becomes "" (its verdict stays); one never reviewed is deleted;
- notifications already delivered or given up on (their payloads quote names, phones and questions): deleted;
- Idempotency-Key replays (they hold whole responses) and expired caller sessions: deleted.

Each change runs in batches of its own short transaction, so a first sweep over a large old database never
holds the write lock for long."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from kb_service.storage.store import Store, iso, now

log = logging.getLogger("frontdesk")

BATCH = 5000
SETTING = "KB_RETENTION_DAYS"

# (table, what to do to rows `WHERE rowid IN (...)`, the rows that still need it): each step finds only rows it
# has not done yet, so a sweep is idempotent and its counts say what changed.
_STEPS: list[tuple[str, str, str]] = [
    (
        "help_requests",
        "UPDATE help_requests SET caller_name = NULL, caller_phone = NULL",
        "SELECT rowid FROM help_requests WHERE status != 'pending'"
        " AND COALESCE(resolved_at, expired_at, dismissed_at, created_at) < :cutoff"
        " AND (caller_name IS NOT NULL OR caller_phone IS NOT NULL)",
    ),
    (
        "help_request_callers",
        "UPDATE help_request_callers SET name = NULL, phone = NULL, question = NULL, callback_note = NULL",
        "SELECT c.rowid FROM help_request_callers c JOIN help_requests r ON r.id = c.help_request_id"
        " WHERE r.status != 'pending' AND COALESCE(r.resolved_at, r.expired_at, r.dismissed_at, r.created_at) < :cutoff"
        " AND (c.name IS NOT NULL OR c.phone IS NOT NULL OR c.question IS NOT NULL OR c.callback_note IS NOT NULL)",
    ),
    (  # hand-offs: a call-back with no help request behind it
        "help_request_callers",
        "UPDATE help_request_callers SET name = NULL, phone = NULL, question = NULL, callback_note = NULL",
        "SELECT rowid FROM help_request_callers WHERE help_request_id IS NULL AND joined_at < :cutoff"
        " AND (name IS NOT NULL OR phone IS NOT NULL OR question IS NOT NULL OR callback_note IS NOT NULL)",
    ),
    ("session_events", "DELETE FROM session_events", "SELECT rowid FROM session_events WHERE created_at < :cutoff"),
    ("session_turns", "DELETE FROM session_turns", "SELECT rowid FROM session_turns WHERE said_at < :cutoff"),
    (
        "ask_log",
        "UPDATE ask_log SET question = '', client_ip = NULL",
        "SELECT rowid FROM ask_log WHERE asked_at < :cutoff AND (question != '' OR client_ip IS NOT NULL)",
    ),
    (
        "confirmations",
        "UPDATE confirmations SET question = '', embedding = x'', caller_name = NULL, caller_phone = NULL,"
        " client_ip = NULL",
        "SELECT rowid FROM confirmations WHERE status != 'open' AND created_at < :cutoff AND (question != ''"
        " OR length(embedding) > 0 OR caller_name IS NOT NULL OR caller_phone IS NOT NULL OR client_ip IS NOT NULL)",
    ),
    (
        "audits",
        "UPDATE audits SET question = ''",
        "SELECT rowid FROM audits WHERE verdict IS NOT NULL AND asked_at < :cutoff AND question != ''",
    ),
    ("audits", "DELETE FROM audits", "SELECT rowid FROM audits WHERE verdict IS NULL AND asked_at < :cutoff"),
    ("outbox", "DELETE FROM outbox", "SELECT rowid FROM outbox WHERE status != 'pending' AND created_at < :cutoff"),
    (
        "idempotency_keys",
        "DELETE FROM idempotency_keys",
        "SELECT rowid FROM idempotency_keys WHERE created_at < :cutoff",
    ),
    ("caller_sessions", "DELETE FROM caller_sessions", "SELECT rowid FROM caller_sessions WHERE expires_at <= :now"),
]

# Where callers' details can remain, with the time each row counts from (for `retention_summary`).
_HELD = [
    "SELECT MIN(COALESCE(resolved_at, expired_at, dismissed_at, created_at)) FROM help_requests"
    " WHERE caller_name IS NOT NULL OR caller_phone IS NOT NULL",
    "SELECT MIN(joined_at) FROM help_request_callers"
    " WHERE name IS NOT NULL OR phone IS NOT NULL OR question IS NOT NULL OR callback_note IS NOT NULL",
    "SELECT MIN(created_at) FROM session_events",
    "SELECT MIN(said_at) FROM session_turns",
    "SELECT MIN(asked_at) FROM ask_log WHERE question != '' OR client_ip IS NOT NULL",
    "SELECT MIN(created_at) FROM confirmations WHERE question != '' OR caller_name IS NOT NULL OR client_ip IS NOT NULL",
    "SELECT MIN(asked_at) FROM audits WHERE question != ''",
]


def cutoff(days: int, at: datetime | None = None) -> str:
    return iso((at or now()) - timedelta(days=days))


def forget_old(store: Store, days: int) -> dict[str, int]:
    """Remove or anonymise callers' details older than `days` (0: keep everything). Returns rows changed per table."""
    changed = dict.fromkeys((table for table, _, _ in _STEPS), 0)
    if days <= 0:
        return changed
    params = {"cutoff": cutoff(days), "now": iso(now())}
    for table, change, pending in _STEPS:
        while True:
            with store.write() as tx:
                n = tx.execute(f"{change} WHERE rowid IN ({pending} LIMIT {BATCH})", params).rowcount
            changed[table] += n
            if n < BATCH:
                break
    if any(changed.values()):
        done = ", ".join(f"{table} {n}" for table, n in changed.items() if n)
        log.info("retention: callers' details older than %d days removed or anonymised (%s)", days, done)
    return changed


def oldest_held(store: Store) -> str | None:
    """The ISO time of the oldest caller detail still in the database, or None when there is none."""
    times = [t for t in (store.scalar(sql) for sql in _HELD) if t]
    return min(times) if times else None


def retention_summary(store: Store, days: int) -> str:
    """One line for `frontdesk stats`."""
    kept = "for ever" if days <= 0 else f"{days} days"
    oldest = oldest_held(store)
    held = f"oldest kept {oldest[:10]}" if oldest else "none held"
    return f"retention: callers' details kept {kept} ({SETTING}); {held}"

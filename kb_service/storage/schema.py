"""What both backends do the same way, over the `Store` interface: migrations and the knowledge version."""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import TypeVar

from kb_service.storage.migrations import MIGRATIONS, statements_for
from kb_service.storage.store import Store, Tx, Unmigrated, iso, now

log = logging.getLogger("frontdesk.storage")
T = TypeVar("T")


def pending_migrations(store: Store) -> list[int]:
    applied = store.applied_migrations()
    return [version for version, _ in MIGRATIONS if version not in applied]


def migrate(store: Store) -> list[int]:
    """Apply every migration not yet applied, each in its own transaction. Returns the versions applied."""
    with store.write() as tx:
        tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
    done = []
    for version, statements in MIGRATIONS:
        with store.write() as tx:
            if tx.execute("SELECT 1 FROM schema_migrations WHERE version = ?", (version,)).fetchone():
                continue
            for statement in statements_for(store.dialect, statements):
                tx.execute(store.ddl(statement))
            tx.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, iso(now())))
            done.append(version)
    return done


def require_migrated(store: Store) -> None:
    if pending := pending_migrations(store):
        raise Unmigrated(
            f"the database {store.name} is not migrated (missing versions {', '.join(map(str, pending))}); "
            "run `frontdesk migrate` first"
        )


def read_meta(store: Store, key: str) -> str | None:
    """A value kept in the `meta` table (a calibration, a tune, an adapter), or None."""
    value = store.scalar("SELECT value FROM meta WHERE key = ?", (key,))
    return None if value is None else str(value)


def read_meta_record(store: Store, key: str, record: type[T]) -> T | None:
    """A dataclass kept as JSON under `key` (fields it no longer has are ignored), or None if there is none or it
    cannot be read (logged)."""
    raw = read_meta(store, key)
    if not raw:
        return None
    try:
        known = {f.name for f in dataclasses.fields(record)}  # type: ignore[arg-type]
        return record(**{k: v for k, v in json.loads(raw).items() if k in known})
    except (TypeError, ValueError, AttributeError):
        log.warning("ignoring an unreadable %r in the meta table", key)
        return None


def write_meta(tx: Tx, key: str, value: str | None) -> None:
    """Keep `value` under `key` in the `meta` table; None drops it."""
    if value is None:
        tx.execute("DELETE FROM meta WHERE key = ?", (key,))
        return
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def knowledge_version(store: Store) -> int:
    """Bumped by every change to phrasings, from this process or any other (another replica, the CLI)."""
    return int(store.scalar("SELECT value FROM meta WHERE key = 'knowledge_version'") or 0)


def bump_knowledge_version(store: Store, tx: Tx, knowledge_id: int | None = None) -> int:
    """The next knowledge version, logged in `knowledge_changes` with the entry it touched (None: any).

    The meta row stays locked until commit, so versions commit in order and the log has no gaps: a reader
    that has version v and sees v + 1 has everything up to it."""
    row = tx.execute(
        "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'knowledge_version' RETURNING value"
    ).fetchone()
    version = int(row[0])
    tx.execute(
        "INSERT INTO knowledge_changes (version, knowledge_id, changed_at) VALUES (?, ?, ?)",
        (version, knowledge_id, iso(now())),
    )
    store.notify(tx, "knowledge")
    return version

"""The source of truth behind one interface, `Store`: SQLite by default (one file, WAL, one `BEGIN IMMEDIATE` per
state change), PostgreSQL when KB_DATABASE_URL names one (`storage/postgres.py`, same SQL and the same single
writer). `open_store(settings)` picks the backend; the code above only sees `write()`, `query()` and `Tx`."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from kb_service.errors import DomainError
from kb_service.storage.migrations import MIGRATIONS, statements_for

if TYPE_CHECKING:
    from kb_service.config import Settings

BUSY_TIMEOUT_MS = 15_000


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """Fixed-width UTC ISO text, so string order is time order inside SQL: 2026-11-26T15:59:34.000000+00:00."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def iso_in(seconds: float, start: datetime | None = None) -> str:
    return iso((start or now()) + timedelta(seconds=seconds))


class Row(Protocol):
    """A result row, on either backend: `row["column"]` or `row[0]`."""

    def __getitem__(self, key: str | int) -> Any: ...

    def keys(self) -> list[str]: ...


class Tx(Protocol):
    """An open write transaction, on either backend: `?` parameters, rows by name or position."""

    def execute(self, sql: str, params: Any = ()) -> Any: ...

    def executemany(self, sql: str, params: Any) -> Any: ...


class Unmigrated(DomainError):
    """The database lacks migrations this version needs (`frontdesk migrate` applies them)."""

    status_code = 503


def open_store(settings: Settings, migrate: bool | None = None) -> Store:
    """SQLite in KB_DATA_DIR, migrated on open (one embedded process: a `make run` needs no step), or the
    PostgreSQL of KB_DATABASE_URL, which must already be migrated (`frontdesk migrate`: Unmigrated otherwise);
    `migrate=True` migrates it, `False` opens it as it is."""
    if settings.database_url:
        from kb_service.storage.postgres import PostgresStore

        store = PostgresStore(settings.database_url, migrate=bool(migrate))
        if migrate is None:
            try:
                store.require_migrated()
            except Exception:
                store.close()
                raise
        return store
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    return Store(settings.db_path, migrate=migrate is not False)


def keep_private(db_path: Path) -> None:
    """The database holds callers' names and phone numbers: its directory 0700, the file and its -wal and -shm
    0600, whatever the umask. SQLite gives the -wal and -shm it creates the database file's mode."""
    directory = db_path.parent
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if directory.stat().st_uid == os.getuid():  # a directory made by someone else (such as /tmp) stays as it is
        os.chmod(directory, 0o700)
    os.close(os.open(db_path, os.O_RDWR | os.O_CREAT, 0o600))
    for path in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
        if path.exists():
            os.chmod(path, 0o600)


class Store:
    """Hands each thread its own connection; writers serialise on SQLite's write lock."""

    skip_locked = ""  # claims need no row locks: the write lock already admits one writer at a time
    dialect = "sqlite"  # which of a migration's `Dialects` applies

    def __init__(self, path: Path, migrate: bool = True):
        self.path = Path(path)
        self.name = str(self.path)
        keep_private(self.path)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        if migrate:
            self.migrate()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        # FULL: a commit the API acknowledged survives a power cut, not only a crash of the process.
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def write(self, serialised: bool = True) -> Iterator[Tx]:
        """One explicit write transaction: everything inside commits together or not at all. `serialised=False`
        lets PostgreSQL run it beside other writers (for row claims that lock their own rows)."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def query(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, params).fetchall()

    def query_one(self, sql: str, params: tuple | dict = ()) -> sqlite3.Row | None:
        return self.conn.execute(sql, params).fetchone()

    def scalar(self, sql: str, params: tuple | dict = ()):
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    @contextmanager
    def startup_lock(self) -> Iterator[None]:
        """Held by one starting process at a time (PostgreSQL: replicas loading the demo); SQLite: nothing."""
        yield

    def _ddl(self, statement: str) -> str:
        return statement

    def applied_migrations(self) -> set[int]:
        if not self.scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'schema_migrations'"):
            return set()
        return {r[0] for r in self.query("SELECT version FROM schema_migrations")}

    def pending_migrations(self) -> list[int]:
        applied = self.applied_migrations()
        return [version for version, _ in MIGRATIONS if version not in applied]

    def migrate(self) -> list[int]:
        """Apply every migration not yet applied, each in its own transaction. Returns the versions applied."""
        with self.write() as tx:
            tx.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
        done = []
        for version, statements in MIGRATIONS:
            with self.write() as tx:
                if tx.execute("SELECT 1 FROM schema_migrations WHERE version = ?", (version,)).fetchone():
                    continue
                for statement in statements_for(self.dialect, statements):
                    tx.execute(self._ddl(statement))
                tx.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, iso(now())))
                done.append(version)
        return done

    def require_migrated(self) -> None:
        if pending := self.pending_migrations():
            raise Unmigrated(
                f"the database {self.name} is not migrated (missing versions {', '.join(map(str, pending))}); "
                "run `frontdesk migrate` first"
            )

    def knowledge_version(self) -> int:
        """Bumped by every change to phrasings, from this process or any other (another replica, the CLI)."""
        return int(self.scalar("SELECT value FROM meta WHERE key = 'knowledge_version'") or 0)

    def bump_knowledge_version(self, tx: Tx, knowledge_id: int | None = None) -> int:
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
        self.notify(tx, "knowledge")
        return version

    def notify(self, tx: Tx, channel: str) -> None:
        """Tell other replicas, on commit, that `channel` changed (PostgreSQL NOTIFY); SQLite: nothing to tell."""

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._all.clear()
        self._local = threading.local()

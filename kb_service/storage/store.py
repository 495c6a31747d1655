"""SQLite, the source of truth: one file, WAL, versioned migrations, one `BEGIN IMMEDIATE` per state change."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kb_service.storage.migrations import MIGRATIONS

BUSY_TIMEOUT_MS = 15_000


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """Fixed-width UTC ISO text, so string order is time order inside SQL: 2026-11-26T15:59:34.000000+00:00."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def iso_in(seconds: float, start: datetime | None = None) -> str:
    return iso((start or now()) + timedelta(seconds=seconds))


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

    def __init__(self, path: Path):
        self.path = Path(path)
        keep_private(self.path)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
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
    def write(self) -> Iterator[sqlite3.Connection]:
        """One explicit write transaction: everything inside commits together or not at all."""
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

    def migrate(self) -> None:
        conn = self.conn
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        for version, statements in MIGRATIONS:
            with self.write() as tx:
                if tx.execute("SELECT 1 FROM schema_migrations WHERE version = ?", (version,)).fetchone():
                    continue
                for statement in statements:
                    tx.execute(statement)
                tx.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, iso(now())))

    def knowledge_version(self) -> int:
        """Bumped by every change to phrasings, from this process or any other (such as the CLI)."""
        return int(self.scalar("SELECT value FROM meta WHERE key = 'knowledge_version'") or 0)

    @staticmethod
    def bump_knowledge_version(tx: sqlite3.Connection) -> int:
        tx.execute("UPDATE meta SET value = value + 1 WHERE key = 'knowledge_version'")
        return int(tx.execute("SELECT value FROM meta WHERE key = 'knowledge_version'").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._all.clear()
        self._local = threading.local()

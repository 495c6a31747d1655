"""The SQLite backend (the default): one file in KB_DATA_DIR, WAL, one `BEGIN IMMEDIATE` per state change."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kb_service.errors import DomainError
from kb_service.storage import schema
from kb_service.storage.store import Tx

BUSY_TIMEOUT_MS = 15_000
RETRY_AFTER_SECONDS = 30
# What SQLite says when the disk is full or failing (SQLITE_FULL, SQLITE_IOERR and its extended codes).
_CANNOT_WRITE = ("database or disk is full", "disk i/o error")


class CannotWrite(DomainError):
    """The disk is full or failing: nothing was written, and nothing acknowledged. 503 with Retry-After."""

    status_code = 503

    def __init__(self, message: str):
        super().__init__(message)
        self.headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}


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


class SqliteTx(Tx):
    def __init__(self, conn: sqlite3.Connection):
        super().__init__()
        # The connection's own methods, bound once: a statement costs no extra call.
        self.execute: Callable[..., sqlite3.Cursor] = conn.execute  # type: ignore[method-assign]
        self.executemany: Callable[..., sqlite3.Cursor] = conn.executemany  # type: ignore[method-assign]


class SqliteStore:
    """Hands each thread its own connection; writers serialise on SQLite's write lock."""

    skip_locked = ""  # claims need no row locks: the write lock already admits one writer at a time
    dialect = "sqlite"  # which of a migration's `Dialects` applies

    def __init__(self, path: Path, migrate: bool = True):
        self.path = Path(path)
        self.name = str(self.path)
        self.write_failed = False  # the last write met a full or failing disk (/healthz tells)
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
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def write(self, serialised: bool = True) -> Iterator[Tx]:
        conn = self.conn
        changes = conn.total_changes
        try:
            conn.execute("BEGIN IMMEDIATE")
            tx = SqliteTx(conn)
            try:
                yield tx
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    try:
                        conn.execute("ROLLBACK")
                    except sqlite3.Error:  # after an I/O error SQLite may have rolled back by itself
                        pass
                tx.rolled_back()
                raise
        except sqlite3.DatabaseError as exc:
            if not any(words in str(exc).lower() for words in _CANNOT_WRITE):
                raise
            self.write_failed = True
            raise CannotWrite("the service cannot write to its disk (full or failing); retry later") from exc
        if conn.total_changes != changes:  # a commit that wrote something: the disk takes writes again
            self.write_failed = False
        tx.committed()

    def query(self, sql: str, params: Any = ()) -> list[Any]:
        return self.conn.execute(sql, params).fetchall()

    def query_one(self, sql: str, params: Any = ()) -> Any | None:
        return self.conn.execute(sql, params).fetchone()

    def scalar(self, sql: str, params: Any = ()) -> Any:
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    @contextmanager
    def startup_lock(self) -> Iterator[None]:
        yield

    def ddl(self, statement: str) -> str:
        return statement

    def applied_migrations(self) -> set[int]:
        if not self.scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'schema_migrations'"):
            return set()
        return {r[0] for r in self.query("SELECT version FROM schema_migrations")}

    def migrate(self) -> list[int]:
        return schema.migrate(self)

    def require_migrated(self) -> None:
        schema.require_migrated(self)

    def knowledge_version(self) -> int:
        return schema.knowledge_version(self)

    def bump_knowledge_version(self, tx: Tx, knowledge_id: int | None = None) -> int:
        return schema.bump_knowledge_version(self, tx, knowledge_id)

    def notify(self, tx: Tx, channel: str) -> None:
        pass  # one process: nobody else to tell

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._all.clear()
        self._local = threading.local()

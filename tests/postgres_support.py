"""A throwaway PostgreSQL cluster for the tests: `initdb -N`, `pg_ctl start` on a free port and a private socket
directory (as the `postgres` user when the tests run as root: initdb refuses root), a fresh database per test."""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from tests.support import free_port


def bin_dir() -> Path:
    """Debian keeps the server's programs out of PATH, under its major version."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not versions:
        raise RuntimeError("PostgreSQL is not installed: run scripts/install-postgresql (make test does)")
    return Path(versions[-1]).parent


class PostgresCluster:
    def __init__(self):
        self.bin = bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="frontdesk-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.host = "127.0.0.1"
        self._databases = 0
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            os.chmod(self.root, 0o755)
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=60)

    def start(self) -> PostgresCluster:
        self._run("initdb", "-N", "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "-D", str(self.data))
        self._pg_ctl_start()
        return self

    def _pg_ctl_start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses={self.host} -c fsync=off -c max_connections=300"
        self._run("pg_ctl", "start", "-w", "-D", str(self.data), "-l", str(self.root / "log"), "-o", options)

    def stop(self) -> None:
        self._run("pg_ctl", "stop", "-m", "fast", "-w", "-D", str(self.data), check=False)

    def restart(self, down_seconds: float = 0.0) -> None:
        """Stop (fast: open connections are cut), stay down a while, start again on the same port."""
        import time

        self.stop()
        time.sleep(down_seconds)  # the outage itself is what a test measures, not a wait for an effect
        self._pg_ctl_start()

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres", socket: bool = False) -> str:
        """TCP on loopback, or the cluster's Unix socket (as a replica on the database's host would connect)."""
        if socket:
            return f"postgresql://postgres@/{database}?host={self.root}&port={self.port}"
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    def fresh_database(self, socket: bool = False) -> str:
        """A new empty database; returns its URL."""
        self._databases += 1
        name = f"test_{os.getpid()}_{self._databases}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name, socket)

    def execute(self, database_url: str, sql: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(database_url, autocommit=True) as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []


class _Postgres:
    """A psycopg connection that takes the service's SQL (`?` parameters), as sqlite3's does."""

    def __init__(self, url: str):
        self.conn = psycopg.connect(url, autocommit=True)

    def execute(self, sql: str, params: tuple = ()):
        from kb_service.storage.postgres import postgres_sql

        return self.conn.execute(postgres_sql(sql), params)


@contextmanager
def connect_db(data_dir: Path, database_url: str | None) -> Iterator:
    """The test's own connection to the service's database, on either backend: `db.execute(sql, params)`."""
    if database_url is None:
        db = sqlite3.connect(data_dir / "frontdesk.db")
        try:
            yield db
        finally:
            db.close()
        return
    db = _Postgres(database_url)
    try:
        yield db
    finally:
        db.conn.close()

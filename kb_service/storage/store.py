"""The source of truth behind one small interface, `Store`, with two siblings: `SqliteStore` (`storage/sqlite.py`:
one file, WAL, one `BEGIN IMMEDIATE` per state change) and `PostgresStore` (`storage/postgres.py`: the same SQL
and the same single writer). `open_store(settings)` (`storage/backends.py`) picks one; the code above only sees
`write()`, `query()` and `Tx`, whose `on_commit` / `on_rollback` carry the effects a write has outside the
database (waking the outbox, mirroring the index)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from kb_service.errors import DomainError

log = logging.getLogger("frontdesk")

Effect = Callable[[], object]


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


class Unmigrated(DomainError):
    """The database lacks migrations this version needs (`frontdesk migrate` applies them)."""

    status_code = 503


class Tx:
    """An open write transaction, on either backend: `?` parameters, rows by name or position, and the effects
    to run once it ends.

    `on_commit(fn)` runs `fn` after the commit (never if it rolls back); `on_rollback(fn)` runs `fn` after a
    rollback (never if it commits). Both know savepoints, as Django's `transaction.on_commit` does: when a
    `savepoint()` rolls back, what was registered inside it is dropped from the commit list and its
    `on_rollback` effects run then. Effects run in the order registered, outside the transaction."""

    def __init__(self) -> None:
        self._on_commit: list[Effect] = []
        self._on_rollback: list[Effect] = []
        self._savepoints = 0

    def execute(self, sql: str, params: Any = ()) -> Any:
        raise NotImplementedError

    def executemany(self, sql: str, params: Any) -> Any:
        raise NotImplementedError

    def on_commit(self, effect: Effect) -> None:
        self._on_commit.append(effect)

    def on_rollback(self, effect: Effect) -> None:
        self._on_rollback.append(effect)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested part of the transaction: an exception inside it undoes only its writes and its effects."""
        name = f"sp{self._savepoints}"
        self._savepoints += 1
        commits, rollbacks = len(self._on_commit), len(self._on_rollback)
        self.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            undone = self._on_rollback[rollbacks:]
            del self._on_commit[commits:], self._on_rollback[rollbacks:]
            try:
                self.execute(f"ROLLBACK TO {name}")
                self.execute(f"RELEASE {name}")
            finally:
                run_effects(undone)
            raise
        else:
            self.execute(f"RELEASE {name}")
        finally:
            self._savepoints -= 1

    def committed(self) -> None:
        """The backend committed: run the commit effects (each once), forget the rollback ones."""
        effects, self._on_commit, self._on_rollback = self._on_commit, [], []
        run_effects(effects)

    def rolled_back(self) -> None:
        effects, self._on_commit, self._on_rollback = self._on_rollback, [], []
        run_effects(effects)


def run_effects(effects: list[Effect]) -> None:
    """Run every effect, even after one fails; then raise the first failure (the write itself stands)."""
    failure: BaseException | None = None
    for effect in effects:
        try:
            effect()
        except Exception as exc:
            log.exception("an effect of a finished transaction failed")
            failure = failure or exc
    if failure is not None:
        raise failure


class Store(Protocol):
    """What the services need of the database, whichever backend holds it."""

    name: str
    skip_locked: str  # appended to a claim's SELECT: PostgreSQL locks the claimed rows, SQLite needs nothing
    dialect: str  # `sqlite` or `postgresql`: which of a migration's `Dialects` applies

    def write(self, serialised: bool = True) -> AbstractContextManager[Tx]:
        """One explicit write transaction: everything inside commits together or not at all. `serialised=False`
        lets PostgreSQL run it beside other writers (for row claims that lock their own rows)."""
        ...

    def query(self, sql: str, params: tuple[Any, ...] | list[Any] | dict[str, Any] = ()) -> list[Any]: ...

    def query_one(self, sql: str, params: tuple[Any, ...] | list[Any] | dict[str, Any] = ()) -> Any | None: ...

    def scalar(self, sql: str, params: tuple[Any, ...] | list[Any] | dict[str, Any] = ()) -> Any: ...

    def startup_lock(self) -> AbstractContextManager[None]:
        """Held by one starting process at a time (PostgreSQL: replicas loading the demo); SQLite: nothing."""
        ...

    def applied_migrations(self) -> set[int]: ...

    def ddl(self, statement: str) -> str:
        """A migration's statement (SQLite's dialect) in this backend's."""
        ...

    def notify(self, tx: Tx, channel: str) -> None:
        """Tell other replicas, on commit, that `channel` changed (PostgreSQL NOTIFY); SQLite: nothing to tell."""
        ...

    def migrate(self) -> list[int]: ...

    def require_migrated(self) -> None: ...

    def knowledge_version(self) -> int: ...

    def bump_knowledge_version(self, tx: Tx, knowledge_id: int | None = None) -> int: ...

    def close(self) -> None: ...

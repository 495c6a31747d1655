"""The store: timestamps as fixed-width UTC text whose string order is time order, and all-or-nothing writes."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest

from kb_service.storage.backends import open_store
from kb_service.storage.sqlite import SqliteStore
from kb_service.storage.store import iso
from tests.support import BOTH_BACKENDS, make_settings


def test_iso_is_fixed_width_utc_and_sorts_like_time():
    moments = [
        datetime(2026, 11, 26, 15, 59, 34, tzinfo=UTC),  # no microseconds: still printed
        datetime(2026, 11, 26, 15, 59, 34, 7, tzinfo=UTC),
        datetime(2026, 11, 26, 17, 0, 0, 5, tzinfo=timezone(timedelta(hours=2))),  # 15:00 UTC
        datetime(1999, 1, 2, 3, 4, 5, 999_999, tzinfo=timezone(timedelta(hours=-5))),
    ]
    texts = [iso(m) for m in moments]
    assert texts[0] == "2026-11-26T15:59:34.000000+00:00"
    assert texts[2] == "2026-11-26T15:00:00.000005+00:00"
    assert {len(t) for t in texts} == {32}
    assert all(t == m.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00") for t, m in zip(texts, moments))
    assert sorted(texts) == [iso(m) for m in sorted(moments)]


def test_a_write_commits_together_or_not_at_all_and_every_commit_is_fsynced(tmp_path):
    store = SqliteStore(tmp_path / "frontdesk.db")
    with pytest.raises(RuntimeError), store.write() as tx:
        tx.execute("INSERT INTO meta (key, value) VALUES ('probe', 1)")
        raise RuntimeError("the batch failed")
    with store.write() as tx:
        assert tx.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL: an acknowledged commit survives a power cut
        tx.execute("INSERT INTO meta (key, value) VALUES ('kept', 1)")
    with sqlite3.connect(tmp_path / "frontdesk.db") as other:  # another process sees only the committed write
        assert other.execute("SELECT key FROM meta WHERE key IN ('probe', 'kept')").fetchall() == [("kept",)]
    store.close()


# ---- one contract over both backends: the transaction's commit and rollback effects


@pytest.fixture
def store(backend, database_url, tmp_path):
    store = open_store(make_settings(tmp_path / "data", **({"KB_DATABASE_URL": database_url} if database_url else {})))
    yield store
    store.close()


def _probe(store, key: str) -> str | None:
    return store.scalar("SELECT value FROM meta WHERE key = ?", (key,))


@BOTH_BACKENDS
def test_on_commit_runs_after_the_commit_in_order_and_on_rollback_never(store):
    seen = []
    with store.write() as tx:
        tx.execute("INSERT INTO meta (key, value) VALUES ('probe', 'written')")
        tx.on_commit(lambda: seen.append(("first", _probe(store, "probe"))))  # reads from outside the transaction
        tx.on_commit(lambda: seen.append(("second", None)))
        tx.on_rollback(lambda: seen.append(("rolled back", None)))
        assert seen == []  # nothing runs before the commit
    assert seen == [("first", "written"), ("second", None)]
    with store.write():
        pass
    assert len(seen) == 2  # each effect runs once, for its own transaction only


@BOTH_BACKENDS
def test_a_rollback_drops_on_commit_and_runs_on_rollback(store):
    seen = []
    with pytest.raises(RuntimeError), store.write() as tx:
        tx.execute("INSERT INTO meta (key, value) VALUES ('probe', 'lost')")
        tx.on_commit(lambda: seen.append("committed"))
        tx.on_rollback(lambda: seen.append(("rolled back", _probe(store, "probe"))))
        raise RuntimeError("the write failed")
    assert seen == [("rolled back", None)]  # after the rollback: the row is already gone


@BOTH_BACKENDS
def test_a_failed_commit_runs_on_rollback(store):
    """A commit the database refuses (a deferred foreign key here) is a rollback: no commit effect runs."""
    with store.write() as tx:
        tx.execute("CREATE TABLE probe (k INTEGER REFERENCES knowledge_entries(id) DEFERRABLE INITIALLY DEFERRED)")
    seen = []
    with pytest.raises(Exception, match="(?i)foreign key"), store.write() as tx:
        tx.execute("INSERT INTO probe (k) VALUES (999)")  # no such entry: refused only at the commit
        tx.on_commit(lambda: seen.append("committed"))
        tx.on_rollback(lambda: seen.append("rolled back"))
    assert seen == ["rolled back"]
    assert store.scalar("SELECT COUNT(*) FROM probe") == 0


@BOTH_BACKENDS
def test_a_rolled_back_savepoint_drops_its_own_effects_only(store):
    seen = []
    with store.write() as tx:
        tx.on_commit(lambda: seen.append("outer"))
        with pytest.raises(RuntimeError), tx.savepoint():
            tx.execute("INSERT INTO meta (key, value) VALUES ('inner', 'lost')")
            tx.on_commit(lambda: seen.append("inner committed"))
            tx.on_rollback(lambda: seen.append("inner rolled back"))
            raise RuntimeError("one ask failed")
        assert seen == ["inner rolled back"]  # at once, while the transaction goes on
        with tx.savepoint():
            tx.execute("INSERT INTO meta (key, value) VALUES ('kept', 'yes')")
            tx.on_commit(lambda: seen.append("kept committed"))
            tx.on_rollback(lambda: seen.append("kept rolled back"))
    assert seen == ["inner rolled back", "outer", "kept committed"]
    assert (_probe(store, "inner"), _probe(store, "kept")) == (None, "yes")


@BOTH_BACKENDS
def test_a_released_savepoint_shares_the_outer_transactions_fate(store):
    seen = []
    with pytest.raises(RuntimeError), store.write() as tx:
        with tx.savepoint():
            with tx.savepoint():  # nested
                tx.execute("INSERT INTO meta (key, value) VALUES ('inner', 'lost')")
                tx.on_commit(lambda: seen.append("inner committed"))
                tx.on_rollback(lambda: seen.append("inner rolled back"))
        raise RuntimeError("the batch failed after the savepoint was released")
    assert seen == ["inner rolled back"]
    assert _probe(store, "inner") is None


@BOTH_BACKENDS
def test_a_failing_effect_does_not_stop_the_others_or_undo_the_commit(store):
    seen = []

    def broken() -> None:
        raise ValueError("an effect broke")

    with pytest.raises(ValueError), store.write() as tx:
        tx.execute("INSERT INTO meta (key, value) VALUES ('probe', 'kept')")
        tx.on_commit(broken)
        tx.on_commit(lambda: seen.append("after"))
    assert seen == ["after"]
    assert _probe(store, "probe") == "kept"

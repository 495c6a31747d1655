"""The store: timestamps as fixed-width UTC text whose string order is time order, and all-or-nothing writes."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest

from kb_service.storage.store import Store, iso


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
    store = Store(tmp_path / "frontdesk.db")
    with pytest.raises(RuntimeError), store.write() as tx:
        tx.execute("INSERT INTO meta (key, value) VALUES ('probe', 1)")
        raise RuntimeError("the batch failed")
    with store.write() as tx:
        assert tx.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL: an acknowledged commit survives a power cut
        tx.execute("INSERT INTO meta (key, value) VALUES ('kept', 1)")
    with sqlite3.connect(tmp_path / "frontdesk.db") as other:  # another process sees only the committed write
        assert other.execute("SELECT key FROM meta WHERE key IN ('probe', 'kept')").fetchall() == [("kept",)]
    store.close()

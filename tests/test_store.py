"""Timestamps as SQLite stores them: fixed-width UTC text whose string order is time order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from kb_service.storage.store import iso


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

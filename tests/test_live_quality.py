"""The live threshold: verdicts on auto-answers (callers' confirmations, resolves, audits) move the answering
threshold a band at a time, and `live.estimate` reports them by band; on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest

from kb_service.matching import live
from kb_service.storage.backends import open_store
from tests.support import BOTH_BACKENDS, make_settings

pytestmark = BOTH_BACKENDS

CONFIGURED, TARGET = 0.96, 0.95


@pytest.fixture
def store(data_dir, database_url):
    settings = make_settings(data_dir, **({"KB_DATABASE_URL": database_url} if database_url else {}))
    store = open_store(settings)
    yield store
    store.close()


def add(store, confidence: float, right: int = 0, wrong: int = 0) -> None:
    with store.write() as tx:
        for n in range(right + wrong):
            live.record(tx, 1, confidence, n < right, "audit")


def test_without_verdicts_the_configured_threshold_holds(store):
    assert live.thresholds(store, CONFIGURED, TARGET) == (CONFIGURED, 0.85)
    quality = live.estimate(store, CONFIGURED, 0.85, TARGET)
    assert (quality.labels, quality.precision, quality.bands) == (0, None, [])


def test_wrong_answers_at_or_above_the_threshold_raise_it_a_band_at_a_time(store):
    add(store, 0.91, wrong=25)  # exactly at the first band up: counted there (at or above)
    add(store, 0.97, right=30)
    answer, _ = live.thresholds(store, 0.86, TARGET)
    assert answer == 0.96  # 0.86: 30 of 55 right; 0.91: 30 of 55; 0.96: 30 of 30


def test_no_evidence_takes_the_threshold_above_one_where_nothing_could_be_answered(store):
    add(store, 1.0, wrong=60)
    assert live.thresholds(store, CONFIGURED, TARGET)[0] == 1.0


def test_right_answers_below_the_threshold_lower_it_by_at_most_a_tenth(store):
    add(store, 0.98, right=100)
    add(store, 0.93, right=20)
    add(store, 0.88, right=20)
    add(store, 0.84, right=20)  # right too, but 0.81 is past the most it may move
    answer, _ = live.thresholds(store, CONFIGURED, TARGET)
    assert answer == 0.86


def test_a_band_with_wrong_answers_stops_the_lowering(store):
    add(store, 0.98, right=100)
    add(store, 0.93, right=20)
    add(store, 0.88, right=20, wrong=10)
    answer, _ = live.thresholds(store, CONFIGURED, TARGET)
    assert answer == 0.91


def test_the_estimate_counts_verdicts_at_or_above_the_threshold_and_by_band(store):
    add(store, 0.87, right=3, wrong=1)
    add(store, 0.97, right=5)
    add(store, 0.96, wrong=1)  # at the threshold: counted
    quality = live.estimate(store, CONFIGURED, 0.85, TARGET)
    assert (quality.labels, quality.precision) == (6, round(5 / 6, 4))
    assert quality.lower < 5 / 6 < quality.upper
    bands = [(b.low, b.high, b.labels, b.right) for b in quality.bands]
    assert bands == [(0.85, 0.9, 4, 3), (0.95, 1.0, 6, 5)]

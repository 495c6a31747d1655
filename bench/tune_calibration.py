"""Calibration of an adapted model whose unknown questions it has never been trained on (`bench/tune_small_kb.py`).

The product's self-test asks each phrasing with its whole entry left out as a question the knowledge base cannot
answer. After tuning, that flatters: the tuner was trained to push that very entry away from the others, which a
caller's unknown question never was. Here the entries are split into FOLDS; for each fold an adapter is trained
without that fold's entries, and it alone embeds the knowledge base in which their phrasings are asked as unknown
questions. The known questions are the held-out phrasings, asked with the adapter under test. The threshold and
the band then follow the product's rule (`calibration.calibrate`: the lowest threshold from the floor whose Wilson
interval is not wholly under the target; the band where a quarter of the self-test would be checks)."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from bench import tuners
from kb_service.config import DEFAULT_MATCH_THRESHOLD
from kb_service.embedding import from_blob
from kb_service.knowledge.entries import KnowledgeBase
from kb_service.matching import self_test
from kb_service.matching.calibration import MIN_KNOWN
from kb_service.matching.evaluation import EvalSet, Outcome, point, threshold_grid
from kb_service.matching.matcher import MAX_THRESHOLD, Matcher
from kb_service.matching.precision import CONFIRM_FLOOR, SELF_TEST_CONFIRM_SHARE, band_start, wilson
from kb_service.storage.sqlite import SqliteStore

FOLDS = 4


def self_test_outcomes(embedder, data: EvalSet, asked: list[list[str]], keep_known: bool) -> list[Outcome]:
    """The product's self-test (`self_test.run`) of the phrasings in `asked`, its known or its unknown part."""
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "cal.db")
        kb = KnowledgeBase(store, embedder)
        kids = kb.import_entries(data.knowledge)
        wanted = {(kid, q) for kid, texts in zip(kids, asked, strict=True) for q in texts}
        rows = store.query("SELECT id, knowledge_id, question, embedding FROM phrasings")
        owner = {r["id"]: r["knowledge_id"] for r in rows}
        per_entry: dict[int, int] = {}
        for kid in owner.values():
            per_entry[kid] = per_entry.get(kid, 0) + 1
        vectors = {r["id"]: from_blob(r["embedding"]) for r in rows}
        ids = sorted(r["id"] for r in rows if (r["knowledge_id"], r["question"]) in wanted)
        outcomes, _ = self_test.run(Matcher(kb, 1.0), ids, owner, vectors, per_entry, lambda: None)
        store.close()
    return [o for o in outcomes if (o.expected is not None) == keep_known]


def calibrate(base, weight, data: EvalSet, trained: list[list[str]], seed: int) -> tuple[float, float, str]:
    """(threshold, band start, status) for the adapter `weight`, unknowns scored by adapters that never saw them."""
    held = [[q for q in qs if q not in set(t)] for (_, qs), t in zip(data.knowledge, trained, strict=True)]
    known = self_test_outcomes(tuners.AdaptedEmbedder(base, weight), data, held, keep_known=True)
    entries = list(range(len(data.knowledge)))
    random.Random(f"folds-{seed}").shuffle(entries)
    unknown: list[Outcome] = []
    for fold in range(FOLDS):
        left_out = set(entries[fold::FOLDS])
        groups = [t for i, t in enumerate(trained) if i not in left_out]
        adapter = tuners.AdaptedEmbedder(base, tuners.train_adapter(base.embed, groups, seed))
        asked = [qs if i in left_out else [] for i, (_, qs) in enumerate(data.knowledge)]
        unknown += self_test_outcomes(adapter, data, asked, keep_known=False)
    outcomes = known + unknown
    floor = DEFAULT_MATCH_THRESHOLD
    if len(known) < MIN_KNOWN:
        return floor, min(CONFIRM_FLOOR, floor), "too_small"
    threshold, status = floor, "below_target"
    for candidate in [t for t in threshold_grid(high=MAX_THRESHOLD) if t >= floor]:
        threshold = candidate
        at = point(outcomes, candidate)
        upper = wilson(round(at.precision * at.answered), at.answered)[1]
        if upper is None or upper >= 0.95:
            status = "calibrated"
            break
    confidences = [o.confidence for o in outcomes if o.got is not None]
    return threshold, band_start(confidences, threshold, SELF_TEST_CONFIRM_SHARE), status

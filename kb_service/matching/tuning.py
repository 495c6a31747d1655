"""Fitting the scorer to one knowledge base: a linear adapter (`knowledge/adapter.py`), a d×d matrix from the
identity, trained with the in-batch contrastive loss of sentence-transformers' MultipleNegativesRankingLoss on
pairs of phrasings of the same entry. It draws each entry's phrasings together, so a caller's other wording of
them clears the threshold more often. Measured against a full fine-tune in docs/quality.md.

`frontdesk tune` runs it, and so does the service in the background: at first, after an import (the phrasings grew
or shrank by a tenth) and after every KB_TUNE_EVERY learned answers. It keeps the adapter only when the knowledge
base's own phrasings say it helps:
- HOLD_OUT of each entry's phrasings (at least one, in an entry of two or more) are never trained on; they are
  the known questions, each asked with only itself left out;
- the unknown questions are every phrasing of a fold of entries, asked with their entry left out, through an
  adapter trained without that fold (cross-fitted: the adapter under test was trained to push that very entry away
  from the others, and a caller's unknown question never was);
- each is also ranked as the model wrote it, so that a pick the plain model does not second (`Matcher.decide`)
  counts as the check the service would make of it: never answered, in the band just under the threshold;
- the threshold and the band follow the calibration's rule (`calibration.lowest_threshold`, `band`);
- kept if that rule finds a threshold meeting the target, and the right entry is picked for more held-out
  phrasings than the shipped scorer picks by the same rule (`picked_right`); otherwise the shipped scorer answers
  (a stored adapter is dropped).
The thresholds it found are stored with the adapter, and the ones in force never go below them
(`live.thresholds`)."""

from __future__ import annotations

import json
import logging
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kb_service.embedding import from_blob
from kb_service.knowledge import adapter as adapters
from kb_service.knowledge.entries import KnowledgeBase
from kb_service.matching import self_test
from kb_service.matching.calibration import CALIBRATED, NotEnoughData, band, learned_count, lowest_threshold
from kb_service.matching.evaluation import Outcome, point
from kb_service.matching.matcher import Matcher
from kb_service.storage.schema import read_meta_record, write_meta
from kb_service.storage.sqlite import SqliteStore
from kb_service.storage.store import Store, iso, now

log = logging.getLogger("frontdesk.tuning")

META_KEY = "tune"
HOLD_OUT = 0.3
FOLDS = 4
MIN_HELD_OUT = 10  # held-out phrasings below which a tune cannot tell better from worse
MAX_PHRASINGS = 20_000  # a larger knowledge base is not tuned (the gate asks every phrasing several times)
RETUNE_SHARE = 0.1  # the phrasings changed by this share since the last tune (an import): tune again

TUNED, KEPT_SHIPPED, TOO_SMALL, TOO_LARGE = "tuned", "kept_shipped", "too_small", "too_large"


@dataclass(frozen=True)
class Tune:
    status: str  # TUNED (the adapter answers), KEPT_SHIPPED (it did not help), TOO_SMALL, TOO_LARGE
    note: str
    knowledge_version: int
    phrasings: int
    learned: int  # resolved help requests when it ran (`calibration.learned_count`)
    model: str
    tuned_at: str
    seconds: float
    held_out: int = 0  # known questions asked
    unknowns: int = 0
    threshold: float | None = None  # the adapter's, cross-fitted
    confirm_threshold: float | None = None
    # Held-out phrasings whose entry each scorer picks right at its own threshold (`picked_right`).
    coverage_shipped: float | None = None
    coverage_tuned: float | None = None
    precision_tuned: float | None = None  # right / answered at the adapter's threshold, unknowns included


class _StoredVectors:
    """An embedder that hands back the knowledge base's stored vector of each of its phrasings."""

    def __init__(self, model_name: str, by_text: dict[str, np.ndarray]):
        self.model_name, self.by_text = model_name, by_text
        self.dimension = len(next(iter(by_text.values())))

    def embed(self, texts: list[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self.by_text[t] for t in texts])


class _Scratch:
    """A throwaway copy of the knowledge base (its stored vectors, in a temporary SQLite file), asked through one
    adapter after another by the product's own self-test."""

    def __init__(self, folder: str, model: str, entries: list[list[str]], by_text: dict[str, np.ndarray]):
        self.store = SqliteStore(Path(folder) / "tune.db")
        self.kb = KnowledgeBase(self.store, _StoredVectors(model, by_text))
        kids = self.kb.import_entries([(str(i), texts) for i, texts in enumerate(entries)])
        rows = self.store.query("SELECT id, knowledge_id, question, embedding FROM phrasings")
        entry_of = {kid: i for i, kid in enumerate(kids)}
        self.ids = {(entry_of[r["knowledge_id"]], r["question"]): r["id"] for r in rows}
        self.owner = {r["id"]: r["knowledge_id"] for r in rows}
        self.vectors = {r["id"]: from_blob(r["embedding"]) for r in rows}
        self.per_entry: dict[int, int] = {}
        for kid in self.owner.values():
            self.per_entry[kid] = self.per_entry.get(kid, 0) + 1
        self.model = model

    def ask(self, weight: np.ndarray | None, asked: list[tuple[int, str]], known: bool, yield_to) -> list[Outcome]:
        """The self-test of these phrasings (entry index, text) through `weight`: their known or unknown part."""
        with self.store.write() as tx:
            settings = adapters.Thresholds(
                key=str(time.monotonic_ns()), model=self.model, threshold=1, confirm_threshold=1
            )
            adapters.save(tx, None if weight is None else adapters.Adapter(settings, weight))
        self.kb.mirror.sync()
        ids = sorted(self.ids[a] for a in asked)
        outcomes, _ = self_test.run(Matcher(self.kb, 1.0), ids, self.owner, self.vectors, self.per_entry, yield_to)
        return [o for o in outcomes if (o.expected is not None) == known]

    def close(self) -> None:
        self.store.close()


def tune(
    kb: KnowledgeBase, target: float, floor: float, yield_to: Callable[[], object] = lambda: None
) -> tuple[Tune, adapters.Adapter | None]:
    """Train, judge against the shipped scorer, and say which one should answer (the adapter, or None)."""
    started, store = time.monotonic(), kb.store
    version = store.knowledge_version()
    if not kb.mirror.in_step(version):
        raise NotEnoughData("the index is catching up with a write")
    rows = store.query("SELECT id, knowledge_id, question, embedding FROM phrasings ORDER BY id")
    model = kb.embedder.model_name
    said: dict[str, Any] = dict(
        knowledge_version=version, phrasings=len(rows), learned=learned_count(store), model=model
    )

    def result(status: str, note: str, **measured) -> Tune:
        seconds = round(time.monotonic() - started, 2)
        return Tune(status=status, note=note, tuned_at=iso(now()), seconds=seconds, **said, **measured)

    if len(rows) > MAX_PHRASINGS:
        return result(TOO_LARGE, f"not tuned: {len(rows)} phrasings, more than {MAX_PHRASINGS}"), None
    learned = self_test.from_checks(store)  # callers' wordings: trained on, never asked
    by_entry: dict[int, list] = {}
    for r in rows:
        by_entry.setdefault(r["knowledge_id"], []).append(r)
    entries = [by_entry[kid] for kid in sorted(by_entry)]
    rng = random.Random(f"tune-{version}")
    held: set[int] = set()
    for phrasings in entries:
        askable = [r["id"] for r in phrasings if r["id"] not in learned]
        if len(phrasings) >= 2 and askable:
            held.update(rng.sample(askable, min(len(askable), max(1, round(HOLD_OUT * len(phrasings))))))
    if len(held) < MIN_HELD_OUT or len(entries) < 2:
        note = f"too small to tune: {len(held)} phrasings to hold out (at least {MIN_HELD_OUT} needed)"
        return result(TOO_SMALL, note), None
    vectors = np.stack([from_blob(r["embedding"]) for r in rows])
    row_of = {r["id"]: i for i, r in enumerate(rows)}
    trained = [[row_of[r["id"]] for r in phrasings if r["id"] not in held] for phrasings in entries]
    weight = adapters.train(vectors, trained, version, yield_to)
    texts = [[r["question"] for r in phrasings] for phrasings in entries]
    by_text = {r["question"]: from_blob(r["embedding"]) for r in rows}
    asked_known = [(i, r["question"]) for i, phrasings in enumerate(entries) for r in phrasings if r["id"] in held]
    asked_all = [(i, r["question"]) for i, phrasings in enumerate(entries) for r in phrasings if r["id"] not in learned]
    with tempfile.TemporaryDirectory() as folder:
        scratch = _Scratch(folder, model, texts, by_text)
        try:
            shipped = scratch.ask(None, asked_known, True, yield_to) + scratch.ask(None, asked_all, False, yield_to)
            known = scratch.ask(weight, asked_known, True, yield_to)
            order = list(range(len(entries)))
            random.Random(f"folds-{version}").shuffle(order)
            unknown: list[Outcome] = []
            for fold in range(FOLDS):
                out = set(order[fold::FOLDS])
                fold_weight = adapters.train(
                    vectors, [g for i, g in enumerate(trained) if i not in out], version, yield_to
                )
                unknown += scratch.ask(fold_weight, [a for a in asked_all if a[0] in out], False, yield_to)
        finally:
            scratch.close()
    shipped_threshold, _ = lowest_threshold(shipped, target, floor)
    threshold, status = lowest_threshold(known + unknown, target, floor)
    measured = dict(
        held_out=len(known),
        unknowns=len(unknown),
        threshold=threshold,
        confirm_threshold=band(known + unknown, threshold),
        coverage_shipped=picked_right([o for o in shipped if o.expected], shipped_threshold),
        coverage_tuned=picked_right(known, threshold),
        precision_tuned=round(point(known + unknown, threshold).precision, 4),
    )
    if status != CALIBRATED or measured["coverage_tuned"] <= measured["coverage_shipped"]:
        note = (
            f"kept the shipped scorer: the adapter answered {measured['coverage_tuned']:.0%} of {len(known)} held-out"
            f" phrasings right against the shipped scorer's {measured['coverage_shipped']:.0%}"
            + ("" if status == CALIBRATED else f", and missed the target precision {target} at every threshold")
        )
        return result(KEPT_SHIPPED, note, **measured), None
    note = (
        f"tuned: the adapter answers {measured['coverage_tuned']:.0%} of {len(known)} held-out phrasings right"
        f" (the shipped scorer {measured['coverage_shipped']:.0%}) from confidence {threshold}, checks from"
        f" {measured['confirm_threshold']}"
    )
    settings = adapters.Thresholds(
        key=f"{version}-{iso(now())}", model=model, threshold=threshold, confirm_threshold=measured["confirm_threshold"]
    )
    return result(TUNED, note, **measured), adapters.Adapter(settings, weight)


def picked_right(known: list[Outcome], threshold: float) -> float:
    """The share of these known questions whose entry is picked right at `threshold`: answered, or, for an
    adapter's pick the plain model does not second (`matcher.seconded`), checked with the caller instead."""
    right = sum(not o.guarded and o.got == o.expected and o.confidence >= threshold for o in known)
    return round(right / len(known), 4) if known else 0.0


def save(store: Store, tuned: Tune, adapter: adapters.Adapter | None, then: Callable[[], object] = lambda: None):
    """Store the tune's report and its adapter (None drops a stored one); `then` runs once it commits."""
    had = adapters.thresholds(store)
    with store.write() as tx:
        write_meta(tx, META_KEY, json.dumps(asdict(tuned)))
        if adapter is not None or had is not None:
            adapters.save(tx, adapter)
            store.bump_knowledge_version(tx)  # every replica's index moves to the new space
        tx.on_commit(then)


def load(store: Store) -> Tune | None:
    return read_meta_record(store, META_KEY, Tune)


def due(store: Store, model: str, every: int) -> bool:
    """Whether the background should tune: never tuned for this model, the phrasings changed by RETUNE_SHARE
    since (an import), or `every` answers learned since (0: never in the background)."""
    if every <= 0:
        return False
    last = load(store)
    if last is None or last.model != model:
        return True
    phrasings = int(store.scalar("SELECT COUNT(*) FROM phrasings") or 0)
    moved = abs(phrasings - last.phrasings) >= max(every, RETUNE_SHARE * last.phrasings)
    return moved or learned_count(store) - last.learned >= every


def maybe_tune(
    kb: KnowledgeBase,
    every: int,
    target: float,
    floor: float,
    yield_to: Callable[[], object] = lambda: None,
    then: Callable[[], object] = lambda: None,
) -> Tune | None:
    """Tune if `due`; store the result; `then` runs once it is stored."""
    if not due(kb.store, kb.embedder.model_name, every):
        return None
    try:
        tuned, adapter = tune(kb, target, floor, yield_to)
    except NotEnoughData:
        return None
    save(kb.store, tuned, adapter, then)
    log.info("%s", tuned.note)
    return tuned

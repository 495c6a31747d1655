"""Judge the matcher the way ../shared/eval/README.md describes, through the live matching code."""

from __future__ import annotations

import json
import tempfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb_service.embedder import Embedder
from kb_service.knowledge import KnowledgeBase
from kb_service.matcher import Matcher, candidates
from kb_service.store import Store


@dataclass(frozen=True)
class EvalSet:
    knowledge: list[tuple[str, list[str]]]  # (answer, phrasings)
    queries: list[tuple[str, str | None]]  # (question, expected answer or None = must escalate)


@dataclass(frozen=True)
class Point:
    threshold: float
    precision: float
    coverage: float
    false_answer_rate: float
    answered: int


def load_clinc150(path: Path, k: int, split: str) -> EvalSet:
    """Knowledge = the first k `train` queries of each intent; queries = `split` plus `oos_split`."""
    data = json.loads(Path(path).read_text())
    by_intent: OrderedDict[str, list[str]] = OrderedDict()
    for query, intent in data["train"]:
        phrasings = by_intent.setdefault(intent, [])
        if len(phrasings) < k:
            phrasings.append(query)
    queries = [(q, intent) for q, intent in data[split]] + [(q, None) for q, _ in data[f"oos_{split}"]]
    return EvalSet(knowledge=[(intent, qs) for intent, qs in by_intent.items()], queries=queries)


def load_jsonl(knowledge_path: Path, queries_path: Path) -> EvalSet:
    knowledge = []
    for line in Path(knowledge_path).read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            knowledge.append((row["answer"], list(row["questions"])))
    queries = []
    for line in Path(queries_path).read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            queries.append((row["question"], row.get("expected_answer")))
    return EvalSet(knowledge, queries)


def evaluate(embedder: Embedder, data: EvalSet, thresholds: list[float],
             show_progress: bool = False) -> list[Point]:
    """Build a throwaway knowledge base, ask every query, and count at each threshold."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "eval.db")
        kb = KnowledgeBase(store, embedder)
        ids = kb.import_entries(data.knowledge, show_progress=show_progress)
        answer_of = {kid: answer for kid, (answer, _) in zip(ids, data.knowledge)}
        vectors = embedder.embed([q for q, _ in data.queries], show_progress=show_progress)
        ranked = candidates(kb, vectors)
        store.close()
    expected = [e for _, e in data.queries]
    in_scope = sum(e is not None for e in expected)
    out_scope = len(expected) - in_scope
    points = []
    for threshold in thresholds:
        matcher = Matcher(kb, threshold)
        right = wrong = covered = false_answers = 0
        for exp, cands in zip(expected, ranked):
            decision = matcher.decide(cands)
            if not decision.answer:
                continue
            got = answer_of[decision.best.knowledge_id]
            if got == exp:
                right += 1
            else:
                wrong += 1
            if exp is not None:
                covered += 1
            else:
                false_answers += 1
        answered = right + wrong
        points.append(Point(
            threshold=threshold,
            precision=right / answered if answered else 1.0,
            coverage=covered / in_scope if in_scope else 0.0,
            false_answer_rate=false_answers / out_scope if out_scope else 0.0,
            answered=answered,
        ))
    return points


def threshold_grid(low: float = 0.30, high: float = 1.0, step: float = 0.01) -> list[float]:
    return [round(float(t), 4) for t in np.arange(low, high + 1e-9, step)]


def lowest_threshold_for(points: list[Point], target_precision: float) -> Point | None:
    """The most permissive threshold whose precision (and that of every stricter one) meets the target."""
    chosen = None
    for point in sorted(points, key=lambda p: -p.threshold):
        if point.answered and point.precision < target_precision:
            break
        chosen = point
    return chosen

"""Entries that contradict each other: the same question, or one worded almost the same, taught with two
different answers (typically a business's own data imported over the demo: both say "When are you open?").

No threshold can answer such a question right, so self-calibration leaves these entries out (else it would climb
towards an unreachable threshold) and names them, for the supervisor to merge or reword."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from kb_service.knowledge.entries import KnowledgeBase

CONFLICT_COSINE = 0.97  # two phrasings this close ask the same thing ("When are you open?" / "when are you open")
NEIGHBOURS = 4
CHUNK = 64
MAX_NAMED = 50  # conflicts named at most (all are still left out of calibration)


@dataclass(frozen=True)
class Conflict:
    knowledge_ids: list[int]  # the two entries, lower id first
    questions: list[str]  # their phrasings that ask the same thing, in the same order


def _same_answer(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def find(
    kb: KnowledgeBase,
    vectors: dict[int, np.ndarray],
    owner: dict[int, int],
    yield_to: Callable[[], object] = lambda: None,
) -> list[Conflict]:
    """Pairs of entries with different answers and a phrasing each at cosine >= CONFLICT_COSINE, one per pair."""
    if not vectors:
        return []
    rows = kb.store.query("SELECT id, answer FROM knowledge_entries")
    answers = {r["id"]: r["answer"] for r in rows}
    found: dict[tuple[int, int], tuple[int, int]] = {}  # (entry, entry) -> (phrasing, phrasing)
    ids = sorted(vectors)
    for start in range(0, len(ids), CHUNK):
        yield_to()
        chunk = ids[start : start + CHUNK]
        hits = kb.mirror.nearest(np.stack([vectors[p] for p in chunk]), NEIGHBOURS)
        for pid, near in zip(chunk, hits, strict=True):
            for score, other, _ in near:
                if score < CONFLICT_COSINE or other not in owner:
                    continue
                a, b = owner[pid], owner[other]
                if a == b or _same_answer(answers.get(a, ""), answers.get(b, "")):
                    continue
                pair = (min(a, b), max(a, b))
                found.setdefault(pair, (pid, other) if a < b else (other, pid))
    if not found:
        return []
    wanted = sorted({pid for pair in found.values() for pid in pair})
    marks = ",".join("?" * len(wanted))
    text = {
        r["id"]: r["question"]
        for r in kb.store.query(f"SELECT id, question FROM phrasings WHERE id IN ({marks})", tuple(wanted))
    }
    return [
        Conflict(knowledge_ids=list(pair), questions=[text.get(p, "") for p in phrasings])
        for pair, phrasings in sorted(found.items())
    ]


def entries_in(conflicts: list[Conflict]) -> set[int]:
    return {kid for conflict in conflicts for kid in conflict.knowledge_ids}

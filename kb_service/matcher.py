"""The matching policy: when is the knowledge base sure enough to answer a caller by itself?"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kb_service.knowledge import KnowledgeBase

NEIGHBOURS = 10  # phrasings fetched per query before grouping them by entry


@dataclass(frozen=True)
class Candidate:
    knowledge_id: int
    score: float  # cosine similarity of the entry's best phrasing


@dataclass(frozen=True)
class Decision:
    answer: bool
    best: Candidate | None
    runner_up: Candidate | None

    @property
    def score(self) -> float:
        return self.best.score if self.best else 0.0

    @property
    def margin(self) -> float | None:
        if self.best is None:
            return None
        return self.best.score - (self.runner_up.score if self.runner_up else 0.0)


def candidates(kb: KnowledgeBase, vectors: np.ndarray, k: int = NEIGHBOURS) -> list[list[Candidate]]:
    """Per query, the nearest entries best first, each scored by its best phrasing."""
    scores, ids = kb.index.search(vectors, k)
    result = []
    for row_scores, row_ids in zip(scores, ids):
        best: dict[int, float] = {}
        for score, pid in zip(row_scores.tolist(), row_ids.tolist()):
            owner = kb.owner_of(pid) if pid >= 0 else None
            if owner is not None and score > best.get(owner, -2.0):
                best[owner] = score
        ranked = sorted(best.items(), key=lambda item: -item[1])
        result.append([Candidate(kid, float(score)) for kid, score in ranked])
    return result


class Matcher:
    def __init__(self, kb: KnowledgeBase, threshold: float):
        self.kb = kb
        self.threshold = threshold

    def decide(self, ranked: list[Candidate]) -> Decision:
        best = ranked[0] if ranked else None
        runner_up = ranked[1] if len(ranked) > 1 else None
        return Decision(answer=best is not None and best.score >= self.threshold, best=best, runner_up=runner_up)

    def match(self, vectors: np.ndarray) -> list[Decision]:
        """One decision per query vector. `/api/ask` and `frontdesk eval` both go through here."""
        return [self.decide(ranked) for ranked in candidates(self.kb, vectors)]

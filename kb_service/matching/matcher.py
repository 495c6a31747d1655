"""The matching policy: when is the knowledge base sure enough to answer a caller by itself?

Each entry scores the mean of two cosine similarities: to its nearest phrasing, and to the centroid of all its
phrasings (so an entry taught many ways counts for more than one lucky phrasing). `confidence` is the best
entry's score plus half its lead over the runner-up (the lead counts only for an entry taught two or more ways).
The agent answers at or above the answering threshold, asks the caller to confirm in the band below it (the
confirmation threshold), and escalates below that, or whenever the contradiction guard objects. A question of
fewer than MIN_WORDS_TO_ANSWER words is at most confirmed. Measured against the alternatives in docs/quality.md."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from kb_service.knowledge.adapter import Space
from kb_service.knowledge.entries import KnowledgeBase
from kb_service.matching import guard

NEIGHBOURS = 20  # phrasings fetched per query before grouping them by entry
CENTROID_WEIGHT = 0.5  # entry score = (1 - w) * nearest phrasing + w * centroid
LEAD_WEIGHT = 0.5  # confidence = score + w * lead: in a small knowledge base a full lead lifts unknown questions
MIN_WORDS_TO_ANSWER = 3  # "Order", "Opening hours?": too little to answer outright, so at most confirmed
NEAR_COPY = 0.95  # a question this close to one of the entry's own phrasings is answered whatever its confidence
MAX_THRESHOLD = 1.0  # confidence is at most 1, so no threshold, calibrated or learned, may go above it
# With an adapter (`matching/tuning.py`), the plain model's confidence in the same entry that an outright answer
# needs besides: an adapter alone answers near-twins of taught entries at 1.0 (docs/quality.md).
SECOND_OPINION = 0.88
UNSECONDED_GAP = 1e-4


class Candidate(NamedTuple):  # a tuple: one is made for every entry among every ask's neighbours
    """An entry as the answering policy weighs it."""

    knowledge_id: int
    blend: float  # what answering ranks by: the mean of `cosine` and the cosine to the entry's centroid
    phrasing_id: int | None = None  # the entry's nearest phrasing
    cosine: float | None = None  # cosine similarity to that phrasing
    phrasings: int = 1  # how many ways the entry was taught


ANSWER, CONFIRM, ESCALATE = "answer", "confirm", "escalate"


@dataclass(frozen=True)
class Decision:
    outcome: str  # ANSWER, CONFIRM (ask the caller first) or ESCALATE
    best: Candidate | None
    runner_up: Candidate | None
    guard: str | None = None  # why the contradiction guard escalated, if it did
    ceiling: float | None = None  # with an adapter the plain model does not second: just under the threshold

    @property
    def answer(self) -> bool:
        return self.outcome == ANSWER

    @property
    def score(self) -> float:
        """The best entry's blend (0 without one): what `/api/ask` reports as `score`."""
        return self.best.blend if self.best else 0.0

    @property
    def margin(self) -> float | None:
        """The best entry's lead over the runner-up; 0 when there is no runner-up (no lead was measured)."""
        if self.best is None:
            return None
        return self.best.blend - self.runner_up.blend if self.runner_up else 0.0

    @property
    def confidence(self) -> float:
        """Score plus half the lead, at most 1: the number compared with the thresholds. The lead only counts for
        an entry taught two or more ways (one phrasing is one noisy cosine)."""
        if self.best is None or self.best.phrasings < 2:
            return min(self.score, MAX_THRESHOLD, self.ceiling or MAX_THRESHOLD)
        return min(self.score + LEAD_WEIGHT * (self.margin or 0.0), MAX_THRESHOLD, self.ceiling or MAX_THRESHOLD)

    @property
    def near_copy(self) -> bool:
        """Worded almost exactly like one of the entry's phrasings (the guard still checks what differs)."""
        return self.best is not None and (self.best.cosine or 0.0) >= NEAR_COPY

    def clears(self, threshold: float) -> bool:
        """The answering rule, for the live threshold and for `frontdesk eval`'s sweep alike."""
        return self.best is not None and self.guard is None and self.confidence >= threshold


@dataclass(frozen=True)
class LeaveOut:
    """For self-calibration: ask as if one phrasing, or one whole entry, were not in the knowledge base."""

    phrasing_id: int | None = None
    knowledge_id: int | None = None


def centroid_similarity(
    kb: KnowledgeBase, space: Space, query: np.ndarray, knowledge_id: int, without: int | None = None
) -> tuple[float, int]:
    """Cosine between `query` (projected into `space`) and the entry's centroid, and the phrasing count,
    optionally leaving one out."""
    centroid = space.centroids.get(knowledge_id)
    if centroid is None:
        return 0.0, 0
    total, count = centroid.total(), centroid.count
    if without is not None and kb.mirror.owner_of(without) == knowledge_id:
        left_out = kb.phrasing_vector(without)
        if left_out is not None:
            total, count = total - space.project(left_out[None, :])[0], count - 1
    norm = float(np.linalg.norm(total))
    return (float(query @ total) / norm if norm > 1e-6 else 0.0), count


_KEEP_ALL = LeaveOut()


class Matcher:
    def __init__(self, kb: KnowledgeBase, threshold: float, confirm_threshold: float | None = None):
        self.kb = kb
        self.threshold = threshold  # answer at or above
        self.confirm_threshold = confirm_threshold  # ask the caller first at or above (None: never)

    def rank(
        self, vectors: np.ndarray, leave_out: list[LeaveOut] | None = None, space: Space | None = None
    ) -> list[list[Candidate]]:
        """Per query, the nearest entries best first, in `space` (the mirror's by default)."""
        space = space or self.kb.mirror.space  # one adapter for the whole ask, even if a new one comes in meanwhile
        found_per_query = self.kb.mirror.nearest(vectors, NEIGHBOURS + (1 if leave_out else 0), space)
        projected = space.project(vectors)
        result = []
        for row, found in enumerate(found_per_query):
            skip = leave_out[row] if leave_out else _KEEP_ALL
            nearest: dict[int, tuple[float, int]] = {}  # entry -> its nearest phrasing (cosine, id)
            for cosine, pid, owner in found:
                if pid == skip.phrasing_id or owner == skip.knowledge_id:
                    continue
                if owner not in nearest or cosine > nearest[owner][0]:
                    nearest[owner] = (cosine, pid)
            ranked = self._score_entries(space, projected[row], nearest, skip.phrasing_id)
            ranked.sort(key=lambda c: -c.blend)
            result.append(ranked)
        return result

    def _score_entries(
        self, space: Space, query: np.ndarray, nearest: dict[int, tuple[float, int]], without: int | None
    ) -> list[Candidate]:
        """Entry scores for every entry among the neighbours, their centroids compared in one product."""
        if without is not None:  # self-calibration leaves a phrasing out: the per-entry path handles that
            centroids = [centroid_similarity(self.kb, space, query, kid, without) for kid in nearest]
        else:
            entries = [space.centroids.get(kid) for kid in nearest]
            units = [c.direction for c in entries if c is not None]
            cosines = iter((np.array(units) @ query).tolist() if units else ())
            centroids = [(next(cosines), c.count) if c is not None else (0.0, 0) for c in entries]
        return [
            Candidate(kid, (1 - CENTROID_WEIGHT) * score + CENTROID_WEIGHT * centroid, pid, score, count)
            for (kid, (score, pid)), (centroid, count) in zip(nearest.items(), centroids, strict=True)
        ]

    def decide(
        self,
        ranked: list[Candidate],
        question: str | None = None,
        guard_all: bool = True,
        plain: list[Candidate] | None = None,
        ceiling: float = MAX_THRESHOLD,
    ) -> Decision:
        """`guard_all=False` runs the contradiction guard only where it could matter, when the entry would be
        answered or confirmed; evaluation keeps it on for every query, since its threshold sweep asks `clears`.

        `plain`: with an adapter, the ranking as the model wrote the vectors. The adapter's confidence reaches the
        threshold only where that ranking puts the same entry first, at SECOND_OPINION or more; elsewhere it stops
        just under `ceiling` (the adapter's own threshold) and this one: a check, which traffic counts as one when
        it narrows the band."""
        best = ranked[0] if ranked else None
        runner_up = ranked[1] if len(ranked) > 1 else None
        undecided = Decision(ESCALATE, best, runner_up)
        if plain is not None and not seconded(undecided, plain):
            stop = min(ceiling, self.threshold) - UNSECONDED_GAP
            undecided = Decision(ESCALATE, best, runner_up, ceiling=stop)
        lowest = self.threshold if self.confirm_threshold is None else min(self.threshold, self.confirm_threshold)
        sure = undecided.clears(self.threshold) or (undecided.near_copy and undecided.clears(lowest))
        if sure and (question is None or guard.word_count(question) >= MIN_WORDS_TO_ANSWER):
            outcome = ANSWER
        elif undecided.clears(lowest):
            outcome = CONFIRM
        else:
            outcome = ESCALATE
        guarded = guard_all or outcome != ESCALATE
        if guarded and question is not None and best is not None:
            if (reason := self._contradicting(best, runner_up) or self._guard(question, best)) is not None:
                return Decision(ESCALATE, best, runner_up, guard=reason, ceiling=undecided.ceiling)
        return Decision(outcome, best, runner_up, ceiling=undecided.ceiling)

    def _contradicting(self, best: Candidate, runner_up: Candidate | None) -> str | None:
        """Two entries taught this very question with different answers (`conflicts.py`): the supervisor decides."""
        if runner_up is None or min(best.cosine or 0.0, runner_up.cosine or 0.0) < NEAR_COPY:
            return None
        first = self.kb.mirror.entry_texts(best.knowledge_id)
        second = self.kb.mirror.entry_texts(runner_up.knowledge_id)
        if first is None or second is None or first[1].casefold().split() == second[1].casefold().split():
            return None
        return "two entries answer this question differently"

    def _guard(self, question: str, best: Candidate) -> str | None:
        texts = self.kb.mirror.entry_texts(best.knowledge_id)
        return None if texts is None else guard.entry_contradiction(question, *texts, similar=self._word_similarity)

    @functools.lru_cache(maxsize=4096)  # noqa: B019  (one Matcher per service: the cache lives as long)
    def _word_similarity(self, a: str, b: str) -> float:
        first, second = self.kb.embedder.embed([a, b])
        return float(first @ second)

    def match(self, vectors: np.ndarray, questions: list[str] | None = None, guard_all: bool = True) -> list[Decision]:
        """One decision per query vector. `/api/ask` and `frontdesk eval` both go through here.

        Pass the question texts to run the contradiction guard (the service always does)."""
        texts = questions if questions is not None else [None] * len(vectors)
        space = self.kb.mirror.space
        ranked = self.rank(vectors, space=space)
        plain: list[list[Candidate] | None] = [None] * len(vectors)
        ceiling = MAX_THRESHOLD
        if space.plain is not None and space.adapter is not None:
            plain = list(self.rank(vectors, space=space.plain))
            ceiling = space.adapter.settings.threshold
        return [
            self.decide(candidates, text, guard_all, second, ceiling)
            for candidates, text, second in zip(ranked, texts, plain, strict=True)
        ]


def seconded(decision: Decision, plain: list[Candidate]) -> bool:
    """An adapter's `decision` may answer outright: it is worded almost exactly like a phrasing of its entry, or
    the plain ranking puts the same entry first, sure enough."""
    best = decision.best
    if decision.near_copy:
        return True
    if best is None or not plain or plain[0].knowledge_id != best.knowledge_id:
        return False
    return Decision(ESCALATE, plain[0], plain[1] if len(plain) > 1 else None).confidence >= SECOND_OPINION

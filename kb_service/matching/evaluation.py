"""Judge the matcher on labelled questions (the protocols in docs/quality.md), through the live matching code."""

from __future__ import annotations

import json
import tempfile
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from kb_service.embedding import Embedder
from kb_service.knowledge.entries import KnowledgeBase
from kb_service.knowledge.index import Neighbour
from kb_service.matching import guard, precision
from kb_service.matching.matcher import MAX_THRESHOLD, MIN_WORDS_TO_ANSWER, NEIGHBOURS, Candidate, Decision, Matcher
from kb_service.storage.sqlite import SqliteStore

CHUNK = 256  # queries matched per progress step
MIN_SUPPORT = 10  # a precision measured on fewer answers than this is noise, not a reason to stop


@dataclass(frozen=True)
class EvalSet:
    knowledge: list[tuple[str, list[str]]]  # (answer, phrasings)
    queries: list[tuple[str, str | None]]  # (question, expected answer or None = must escalate)


@dataclass(frozen=True)
class Point:
    threshold: float
    precision: float  # right auto-answers / all auto-answers
    coverage: float  # right auto-answers / questions the knowledge base can answer
    false_answer_rate: float  # answered questions it cannot answer / all such questions
    wrong_rate: float  # wrong auto-answers / all questions
    answered: int


@dataclass(frozen=True)
class Outcome:
    """What one query got: the answer chosen, how sure, and whether the guard stopped it."""

    expected: str | None
    got: str | None
    confidence: float
    guarded: bool
    short: bool = False  # too few words to answer outright (at most confirmed)
    near_copy: bool = False  # worded almost exactly like a phrasing of the entry it got
    # An adapter's pick the plain model does not second (`matcher.seconded`): never answered, at most checked.
    unseconded: bool = False


@dataclass(frozen=True)
class PolicyRun:
    """The live policy asked every query in order, a `confirm` answered the way an honest caller would."""

    answer_threshold: float
    answered_right: int  # directly or after the caller's yes
    answered_wrong: int
    confirmations: int
    precision: float
    coverage: float  # right answers / questions the knowledge base can answer
    wrong_rate: float  # wrong answers / all questions
    confirm_rate: float  # confirmations / all questions


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


def restrict(data: EvalSet, answers: int) -> EvalSet:
    """The first `answers` entries, their queries, and every out-of-scope query (a small, fast slice)."""
    kept = {answer for answer, _ in data.knowledge[:answers]}
    return EvalSet(data.knowledge[:answers], [(q, e) for q, e in data.queries if e is None or e in kept])


def load_jsonl(knowledge_path: Path, queries_path: Path) -> EvalSet:
    """Knowledge lines `{"answer", "questions"}`; query lines `{"question", "expected_answer" | null}`."""
    knowledge, queries = [], []
    for where, line in _lines(knowledge_path):
        row = _object(where, line, ("answer", "questions"))
        if not isinstance(row["questions"], list) or not all(isinstance(q, str) for q in row["questions"]):
            raise ValueError(f"{where}: 'questions' must be a list of strings")
        knowledge.append((str(row["answer"]), list(row["questions"])))
    for where, line in _lines(queries_path):
        row = _object(where, line, ("question",))
        queries.append((str(row["question"]), row.get("expected_answer")))
    return EvalSet(knowledge, queries)


def _lines(path: Path):
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            yield f"{path}:{number}", line


def _object(where: str, line: str, required: tuple[str, ...]) -> dict:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: not JSON ({exc.msg})") from exc
    if not isinstance(row, dict) or any(key not in row for key in required):
        raise ValueError(f"{where}: expected an object with {', '.join(required)}")
    return row


def ask_all(
    embedder: Embedder, data: EvalSet, naive: bool = False, progress: Callable[[int], None] | None = None
) -> list[Outcome]:
    """Build a throwaway knowledge base and ask every query through `Matcher.match` (the `/api/ask` path).

    `naive` is the baseline this policy replaced: the nearest phrasing's score alone, no guard."""
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "eval.db")
        kb = KnowledgeBase(store, embedder)
        ids = kb.import_entries(data.knowledge)
        try:
            return ask_kb(kb, dict(zip(ids, (answer for answer, _ in data.knowledge))), data.queries, naive, progress)
        finally:
            store.close()


def ask_kb(
    kb: KnowledgeBase,
    answer_of: dict[int, str],
    queries: list[tuple[str, str | None]],
    naive: bool = False,
    progress: Callable[[int], None] | None = None,
) -> list[Outcome]:
    """Ask every (question, expected answer) of `queries` of this knowledge base, whose entries' answers are
    `answer_of` (knowledge id -> answer)."""
    questions = [q for q, _ in queries]
    vectors = kb.embedder.embed(questions)
    matcher = Matcher(kb, threshold=1.0)
    outcomes: list[Outcome] = []
    for start in range(0, len(questions), CHUNK):
        chunk = slice(start, start + CHUNK)
        if naive:
            decisions = [_naive(ranked) for ranked in kb.mirror.nearest_entries(vectors[chunk], NEIGHBOURS)]
        else:
            decisions = matcher.match(vectors[chunk], questions[chunk])
        for (question, expected), decision in zip(queries[chunk], decisions):
            got = answer_of[decision.best.knowledge_id] if decision.best else None
            confidence = decision.confidence if not naive else decision.score
            short = guard.word_count(question) < MIN_WORDS_TO_ANSWER
            outcomes.append(Outcome(expected, got, confidence, decision.guard is not None, short, decision.near_copy))
        if progress:
            progress(len(decisions))
    return outcomes


def _naive(ranked: list[Neighbour]) -> Decision:
    """The baseline's decision: the nearest phrasing's cosine is the whole score."""
    best = Candidate(ranked[0].knowledge_id, ranked[0].cosine, None, ranked[0].cosine) if ranked else None
    return Decision("escalate", best, None)


def point(outcomes: list[Outcome], threshold: float) -> Point:
    right = wrong = false_answers = 0
    for o in outcomes:
        if o.guarded or o.got is None or o.unseconded or o.confidence < threshold:
            continue
        if o.got == o.expected:
            right += 1
        else:
            wrong += 1
            false_answers += o.expected is None
    in_scope = sum(o.expected is not None for o in outcomes)
    out_scope = len(outcomes) - in_scope
    answered = right + wrong
    return Point(
        threshold=round(threshold, 4),
        precision=right / answered if answered else 1.0,
        coverage=right / in_scope if in_scope else 0.0,
        false_answer_rate=false_answers / out_scope if out_scope else 0.0,
        wrong_rate=wrong / len(outcomes) if outcomes else 0.0,
        answered=answered,
    )


def sweep(outcomes: list[Outcome], thresholds: list[float]) -> list[Point]:
    return [point(outcomes, t) for t in thresholds]


def threshold_grid(low: float = 0.30, high: float = MAX_THRESHOLD, step: float = 0.005) -> list[float]:
    return [round(float(t), 4) for t in np.arange(low, high + 1e-9, step)]


def lowest_threshold_for(points: list[Point], target_precision: float, min_support: int = MIN_SUPPORT) -> Point | None:
    """The most permissive threshold whose precision meets the target, as does that of every stricter one measured
    on at least `min_support` answers (fewer answers than that are noise, not a reason to stop)."""
    chosen = None
    for p in sorted(points, key=lambda p: -p.threshold):
        if p.answered >= min_support and p.precision < target_precision:
            break
        if p.precision >= target_precision:
            chosen = p
    return chosen


def run_policy(outcomes: list[Outcome], answer_threshold: float, confirm_start: float | None = None) -> PolicyRun:
    """What the service would do with these questions asked in this order: answer at `answer_threshold`, confirm
    in the band below it (from `confirm_start`, the calibration's, narrowed by traffic:
    `precision.confirm_threshold`), escalate the rest."""
    recent: deque[float] = deque(maxlen=precision.CONFIRM_WINDOW)
    right = wrong = confirmations = 0
    for o in outcomes:
        confirm_threshold = precision.confirm_threshold(list(recent), answer_threshold, confirm_start)
        if o.got is not None:
            recent.appendleft(o.confidence)
        if o.guarded or o.got is None or o.confidence < confirm_threshold:
            continue
        if (o.confidence < answer_threshold and not o.near_copy) or o.short:
            confirmations += 1
            right += o.got == o.expected  # an honest caller says yes to the right entry, no to any other
            continue
        right, wrong = (right + 1, wrong) if o.got == o.expected else (right, wrong + 1)
    in_scope = sum(o.expected is not None for o in outcomes)
    total = max(len(outcomes), 1)
    return PolicyRun(
        answer_threshold=answer_threshold,
        answered_right=right,
        answered_wrong=wrong,
        confirmations=confirmations,
        precision=round(right / (right + wrong), 4) if right + wrong else 1.0,
        coverage=round(right / in_scope, 4) if in_scope else 0.0,
        wrong_rate=round(wrong / total, 4),
        confirm_rate=round(confirmations / total, 4),
    )


def report(
    points: list[Point], current: Point, chosen: Point | None, meta: dict, policy: PolicyRun | None = None
) -> dict:
    return {
        **meta,
        "policy": asdict(policy) if policy else None,
        "current": asdict(current),
        "best_for_target": asdict(chosen) if chosen else None,
        "points": [asdict(p) for p in points],
    }


def plot(points_by_label: dict[str, list[Point]], path: Path, target: float | None = None) -> None:
    """The precision–coverage curve, one line per label."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5))
    for label, points in points_by_label.items():
        pts = sorted(points, key=lambda p: p.coverage)
        ax.plot([p.coverage for p in pts], [p.precision for p in pts], label=label)
    if target is not None:
        ax.axhline(target, color="grey", linestyle="--", linewidth=0.8, label=f"precision {target}")
    ax.set_xlabel("coverage (in-scope questions auto-answered)")
    ax.set_ylabel("precision (auto-answers that were right)")
    ax.set_ylim(0.5, 1.01)
    ax.set_xlim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)

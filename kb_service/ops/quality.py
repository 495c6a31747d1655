"""Answer quality (`frontdesk stats --quality`): how often the agent answered by itself, asked the caller to
confirm or escalated; how often it escalated a question an existing entry already answered (a missed
auto-answer); and the live precision estimate from callers' and supervisors' verdicts (`matching/live.py`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from kb_service.matching.live import Labels
from kb_service.matching.precision import wilson
from kb_service.ops.stats import help_request_counts, rate
from kb_service.storage.store import Store
from models import LiveQualityPublic


@dataclass(frozen=True)
class Quality:
    asks: int
    auto_answered: int
    confirmations: int  # asks still waiting for the caller's yes or no
    escalated: int
    auto_answer_rate: float | None
    escalation_rate: float | None
    resolved_escalations: int
    missed_auto_answers: int  # resolved by pointing at an entry that existed before the question came in
    missed_rate: float | None  # of resolved escalations
    missed_median_score: float | None  # where those questions scored: how far the threshold is from them
    live: dict = field(default_factory=dict)  # LiveQualityPublic


def collect(store: Store, live: LiveQualityPublic) -> Quality:
    by_outcome = {
        r["outcome"]: r["n"] for r in store.query("SELECT outcome, COUNT(*) AS n FROM ask_log GROUP BY outcome")
    }
    asks = sum(by_outcome.get(outcome, 0) for outcome in ("answered", "confirm", "escalated"))  # questions only
    answered, escalated = by_outcome.get("answered", 0), by_outcome.get("escalated", 0)
    resolved = help_request_counts(store)["resolved"]
    missed = store.query(
        "SELECT h.best_score FROM help_requests h JOIN knowledge_entries e ON e.id = h.knowledge_id"
        " WHERE h.status = 'resolved' AND e.created_at < h.created_at ORDER BY h.best_score"
    )
    scores = [r["best_score"] for r in missed if r["best_score"] is not None]
    return Quality(
        asks=asks,
        auto_answered=answered,
        confirmations=by_outcome.get("confirm", 0),
        escalated=escalated,
        auto_answer_rate=rate(answered, asks),
        escalation_rate=rate(escalated, asks),
        resolved_escalations=resolved,
        missed_auto_answers=len(missed),
        missed_rate=rate(len(missed), resolved),
        missed_median_score=round(scores[len(scores) // 2], 4) if scores else None,
        live=live.model_dump(),
    )


def plot_live_precision(store: Store, path, threshold: float, target: float) -> int:
    """Precision of the verdicts at or above each threshold, with its 95% interval: the evidence the live
    threshold moves on. Returns how many verdicts it drew on."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = Labels(store)
    lowest, highest = labels.span() or (threshold, threshold)
    xs: list[float] = []
    ys: list[float] = []
    lows: list[float] = []
    highs: list[float] = []
    counts: list[int] = []
    for t in [round(c / 100, 2) for c in range(math.floor(lowest * 100), math.floor(highest * 100) + 1)]:
        right, total = labels.between(t)
        low, high = wilson(right, total)
        if total < 5 or low is None or high is None:
            continue
        xs.append(t)
        ys.append(right / total)
        lows.append(low)
        highs.append(high)
        counts.append(total)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.fill_between(xs, lows, highs, alpha=0.25, label="95% interval")
    ax.plot(xs, ys, label="precision of the verdicts at or above")
    ax.axhline(target, color="grey", linestyle="--", linewidth=0.8, label=f"target {target}")
    ax.axvline(threshold, color="black", linestyle=":", linewidth=0.8, label=f"answering threshold {threshold}")
    ax.set_xlabel("confidence threshold")
    ax.set_ylabel("precision")
    ax.set_ylim(0.5, 1.01)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    verdicts = labels.between(lowest)[1]  # all of them
    ax.set_title(f"Live precision from {verdicts} verdicts (callers' confirmations, resolves, audits)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return verdicts

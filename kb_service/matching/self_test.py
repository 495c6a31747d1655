"""The self-test calibration runs: every phrasing asked as a known question (only itself left out) and as an unknown
one (its whole entry left out), through `Matcher.rank` (the live policy)."""

from __future__ import annotations

import numpy as np

from kb_service.matching.evaluation import Outcome
from kb_service.matching.matcher import Decision, LeaveOut, seconded
from kb_service.storage.store import Store

CHUNK = 64  # phrasings ranked at a time; before each chunk, callers waiting on an answer go first
DUPLICATE_COSINE = 0.98  # a phrasing this close to another of its entry is a copy, not another way of asking


def run(matcher, ids, owner, vectors, per_entry, yield_to) -> tuple[list[Outcome], int]:
    """Every phrasing asked as a known question (itself left out) and an unknown one (its entry left out);
    also how many known questions had a near-copy in their own entry. With an adapter, each is also ranked as the
    model wrote it, so that a pick the plain model does not second is marked so, as `Matcher.decide` treats it."""
    outcomes, duplicates = [], 0
    space = matcher.kb.mirror.space  # one adapter for the whole run

    def ranked(chunk: list[int], leave_out: list[LeaveOut]) -> list[tuple[list, list | None]]:
        queries = np.stack([vectors[pid] for pid in chunk])
        found = matcher.rank(queries, leave_out, space=space)
        if space.plain is None or space.adapter is None:
            return [(r, None) for r in found]
        return list(zip(found, matcher.rank(queries, leave_out, space=space.plain), strict=True))

    for start in range(0, len(ids), CHUNK):
        yield_to()
        chunk = ids[start : start + CHUNK]
        known = [pid for pid in chunk if per_entry[owner[pid]] > 1]
        if known:
            for pid, (candidates, plain) in zip(
                known, ranked(known, [LeaveOut(phrasing_id=pid) for pid in known]), strict=True
            ):
                outcomes.append(outcome(owner[pid], candidates, plain))
                own = next((c for c in candidates if c.knowledge_id == owner[pid]), None)
                duplicates += own is not None and own.cosine is not None and own.cosine >= DUPLICATE_COSINE
        unknown = ranked(chunk, [LeaveOut(knowledge_id=owner[pid]) for pid in chunk])
        outcomes += [outcome(None, candidates, plain) for candidates, plain in unknown]
    return outcomes, duplicates


def outcome(expected: int | None, ranked, plain=None) -> Outcome:
    decision = Decision("escalate", ranked[0] if ranked else None, ranked[1] if len(ranked) > 1 else None)
    got = decision.best.knowledge_id if decision.best else None
    return Outcome(
        None if expected is None else str(expected),
        None if got is None else str(got),
        decision.confidence,
        False,
        unseconded=plain is not None and not seconded(decision, plain),
    )


def from_checks(store: Store) -> set[int]:
    """Phrasings learned from callers' yes to a check (`desk/pending_phrasings.py`). They stay in the index, so
    every question of the self-test meets them, but are not asked themselves: they were picked from the check
    band, and asking them would move where the band starts by how many were learned, not by what was taught."""
    return {
        int(r["phrasing_id"])
        for r in store.query(
            "SELECT phrasing_id FROM pending_phrasings WHERE status IN ('approved', 'added')"
            " AND phrasing_id IS NOT NULL"
        )
    }

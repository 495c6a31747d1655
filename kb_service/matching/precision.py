"""The arithmetic of precision that calibration, evaluation and live calibration share: the Wilson interval of
a measured precision, and where the confirmation band starts: from the self-test, narrowed by recent traffic."""

from __future__ import annotations

import math

Z = 1.96  # 95%
CONFIRM_START = 0.85  # the confirmation threshold of a knowledge base never calibrated
CONFIRM_FLOOR = 0.50  # never confirm below this: the guess would rarely be right
# The band starts where a quarter of the self-test's questions (`calibration.py`) would be checks; traffic may
# narrow it (never widen it) once it shows more than CONFIRM_SHARE of real questions landing there.
SELF_TEST_CONFIRM_SHARE = 0.25
CONFIRM_SHARE = 0.22  # of recent questions that may land in the confirmation band (the budget is 25%)
CONFIRM_WINDOW = 500
CONFIRM_MIN_ASKS = 50
PER_CLIENT = 5  # asks of one client address counted in the window at most; asks without a session are not counted


def wilson(right: int, total: int) -> tuple[float | None, float | None]:
    """The 95% Wilson score interval of right / total (None, None with no data)."""
    if total == 0:
        return None, None
    p = right / total
    denominator = 1 + Z * Z / total
    centre = (p + Z * Z / (2 * total)) / denominator
    spread = Z * math.sqrt(p * (1 - p) / total + Z * Z / (4 * total * total)) / denominator
    return max(0.0, centre - spread), min(1.0, centre + spread)


def band_start(
    confidences: list[float], answer_threshold: float, share: float, weights: list[float] | None = None
) -> float:
    """The lowest confirmation threshold (not under CONFIRM_FLOOR) at which at most `share` of these questions (of
    their total weight, when weighted) would fall between it and the answering threshold."""
    weighed = list(zip(confidences, weights or [1.0] * len(confidences), strict=True))
    allowed, taken = share * sum(w for _, w in weighed), 0.0
    for confidence, weight in sorted((x for x in weighed if x[0] < answer_threshold), key=lambda x: -x[0]):
        taken += weight
        if taken > allowed + 1e-9:
            return round(min(max(CONFIRM_FLOOR, confidence + 1e-4), answer_threshold), 4)
    return min(CONFIRM_FLOOR, answer_threshold)


def confirm_threshold(recent: list[float], answer_threshold: float, start: float | None = None) -> float:
    """`start` is the band the knowledge base's own phrasings set (`calibration.py`); traffic of at least
    CONFIRM_MIN_ASKS questions may raise it to keep checks to CONFIRM_SHARE of them, never lower it."""
    start = min(CONFIRM_START if start is None else start, answer_threshold)
    if len(recent) < CONFIRM_MIN_ASKS:
        return start
    return max(start, band_start(recent, answer_threshold, CONFIRM_SHARE))

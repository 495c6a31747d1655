"""The arithmetic of precision that calibration, evaluation and live calibration share: the Wilson interval of
a measured precision, and where the confirmation band starts given recent traffic."""

from __future__ import annotations

import math

Z = 1.96  # 95%
CONFIRM_START = 0.85  # the confirmation threshold until CONFIRM_MIN_ASKS questions have been asked
CONFIRM_FLOOR = 0.60  # never confirm below this: the guess would rarely be right
CONFIRM_SHARE = 0.16  # of recent questions that may land in the confirmation band
CONFIRM_WINDOW = 500
CONFIRM_MIN_ASKS = 50


def wilson(right: int, total: int) -> tuple[float | None, float | None]:
    """The 95% Wilson score interval of right / total (None, None with no data)."""
    if total == 0:
        return None, None
    p = right / total
    denominator = 1 + Z * Z / total
    centre = (p + Z * Z / (2 * total)) / denominator
    spread = Z * math.sqrt(p * (1 - p) / total + Z * Z / (4 * total * total)) / denominator
    return max(0.0, centre - spread), min(1.0, centre + spread)


def confirm_threshold(recent: list[float], answer_threshold: float) -> float:
    """The lowest confirmation threshold (not under CONFIRM_FLOOR) at which at most CONFIRM_SHARE of the recent
    questions would fall between it and the answering threshold."""
    if len(recent) < CONFIRM_MIN_ASKS:
        return min(CONFIRM_START, answer_threshold)
    below = sorted((c for c in recent if c < answer_threshold), reverse=True)
    allowed = int(CONFIRM_SHARE * len(recent))
    if allowed >= len(below):
        return CONFIRM_FLOOR
    return round(min(max(CONFIRM_FLOOR, below[allowed] + 1e-4), answer_threshold), 4)

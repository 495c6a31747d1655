"""Verdicts on auto-answers and the live precision they give: the Audit tab, `GET /api/quality`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from models.schemas import StrictInput


class AuditPublic(BaseModel):
    """An auto-answer the supervisor is asked to check."""

    id: int
    question: str
    answer: str
    knowledge_id: int
    confidence: float
    asked_at: datetime
    verdict: Literal["right", "wrong"] | None


class AuditPage(BaseModel):
    items: list[AuditPublic]
    total: int


class AuditVerdict(StrictInput):
    correct: bool


class PrecisionBand(BaseModel):
    low: float
    high: float | None
    labels: int
    right: int
    precision: float | None
    lower: float | None  # 95% Wilson interval
    upper: float | None


class EntryConflict(BaseModel):
    knowledge_ids: list[int]
    questions: list[str]


class LiveQualityPublic(BaseModel):
    """Precision of auto-answers, estimated from the supervisor's and callers' own verdicts."""

    threshold: float  # the answering threshold in force
    confirm_threshold: float | None  # from here up to `threshold` the agent asks the caller first
    target_precision: float
    labels: int  # verdicts at or above the threshold
    precision: float | None  # right / labels at or above the threshold
    lower: float | None  # 95% Wilson interval of that precision
    upper: float | None
    bands: list[PrecisionBand]
    audits_waiting: int
    calibration: str | None = None  # the last self-calibration, in words (`frontdesk calibrate`)
    # Entries that give different answers to the same question: left out of calibration, never answered
    # outright until merged or reworded. Each {"knowledge_ids": [a, b], "questions": [qa, qb]}.
    conflicts: list[EntryConflict] = []

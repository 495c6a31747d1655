"""Callers' confirmed wordings waiting to become phrasings: `GET /api/pending-phrasings` and the Audit tab."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from models.schemas import StrictInput

PendingPhrasingStatus = Literal["pending", "approved", "dropped", "added"]


class PendingPhrasingPublic(BaseModel):
    """A caller's words, confirmed as meaning entry `knowledge_id` ("Just to check — are you asking …?" → yes)."""

    id: int
    knowledge_id: int
    question: str  # the caller's words, as they said them
    entry_question: str  # the entry's first phrasing, what the check asked about
    answer: str  # the entry's answer
    status: PendingPhrasingStatus  # `added`: added on its own, after enough agreeing calls
    confirmations: int  # call sessions that said yes to this wording (or one close to it)
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    phrasing_id: int | None  # the phrasing it became, once approved or added


class PendingPhrasingPage(BaseModel):
    items: list[PendingPhrasingPublic]
    total: int
    auto_add_after: int  # agreeing calls after which a wording is added on its own (0: never)


_By = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None


class PendingPhrasingDecide(StrictInput):
    decided_by: _By = None


class PendingPhrasingsDecide(StrictInput):
    pending_phrasing_ids: Annotated[list[int], Field(min_length=1, max_length=200)]
    decided_by: _By = None


class PendingPhrasingsDecided(BaseModel):
    decided: list[int]  # approved (now phrasings of their entries) or dropped
    skipped: list[int]  # decided already, or gone with their entry
    status: Literal["approved", "dropped"]

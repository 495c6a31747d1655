"""Call-backs: a caller to phone back, because their request timed out or because they asked to be called."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, StringConstraints, field_validator

from models.schemas import Caller, HelpRequestStatus, StrictInput

MAX_NOTE_CHARS = 500


class CallbackPublic(BaseModel):
    """One caller to call back. `id` is the caller's own reference (the `help_request_id` they were given)."""

    id: int
    help_request_id: int  # the request as the supervisor sees it (several callers can share one)
    reason: Literal["asked", "timed_out"]  # the caller asked to be called back, or nobody answered in time
    status: HelpRequestStatus  # of the request: a caller who asked may since have been sent the answer
    name: str | None
    phone: str
    phone_verified: bool  # the caller proved this number with a code; any other number may be someone else's
    question: str  # the caller's own words
    asked_at: datetime
    callback_requested_at: datetime | None
    answer: str | None  # when the request was answered since
    called_back_at: datetime | None
    note: str | None


class CallbackPage(BaseModel):
    items: list[CallbackPublic]
    total: int
    limit: int
    offset: int


class CallbackDone(StrictInput):
    """`POST /api/callbacks/{id}/done`: what came of the call, for whoever looks next."""

    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_NOTE_CHARS)] | None = None


class CallbackRequest(StrictInput):
    """A waiting caller asks to be called back instead (`POST /api/sessions/{session_id}/callbacks`)."""

    reference: int  # the `help_request_id` this caller was given
    phone: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None

    @field_validator("phone")
    @classmethod
    def _phone_looks_like_a_phone(cls, value: str) -> str:
        return Caller.phone_checked(value)


class CallbackRequested(BaseModel):
    reference: int
    callback_requested_at: datetime
    message: str  # what the call page shows

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
    # The request as the supervisor sees it (several callers can share one); None for a hand-off.
    help_request_id: int | None
    # The caller asked to be called back, or nobody answered in time, or the caller asked the agent for a person
    # or for what only staff can do (booking, cancelling, a complaint: `handoff`, with no help request).
    reason: Literal["asked", "timed_out", "handoff"]
    status: HelpRequestStatus | None  # of the request (None for a hand-off): a caller may since have the answer
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
        checked = Caller.phone_checked(value)
        if checked is None:  # min_length=1 keeps "" out; a phone is required here
            raise ValueError("phone is required")
        return checked


class CallbackRequested(BaseModel):
    reference: int
    callback_requested_at: datetime
    message: str  # what the call page shows

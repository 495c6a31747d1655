"""Proving a phone number before anything is texted to it (`POST /api/sessions/{session_id}/phone[/verify]`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, StringConstraints, field_validator

from models.schemas import Caller, StrictInput


class PhoneCodeRequest(StrictInput):
    """Text a one-time code to this number."""

    phone: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]

    @field_validator("phone")
    @classmethod
    def _phone_looks_like_a_phone(cls, value: str) -> str:
        return Caller.phone_checked(value) or value  # never None here: the field is required and non-empty


class PhoneCodeCheck(StrictInput):
    """The code the caller got by text."""

    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=12, pattern=r"^[0-9]+$")]


class PhoneCodeSent(BaseModel):
    phone: str
    expires_in: int  # seconds the code works
    message: str  # what the call page shows


class PhoneVerified(BaseModel):
    phone: str
    verified: bool
    message: str

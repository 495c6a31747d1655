"""Request and response bodies. Inputs forbid unknown fields so typos fail loudly (422)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

MAX_QUESTION_CHARS = 1000
MAX_ANSWER_CHARS = 4000

# Stripped, non-empty, bounded texts. Caller text is stored verbatim apart from the outer whitespace.
QuestionText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUESTION_CHARS)]
AnswerText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_ANSWER_CHARS)]


class StrictInput(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HelpRequestStatus(str, Enum):
    pending = "pending"
    resolved = "resolved"
    unresolved = "unresolved"
    dismissed = "dismissed"  # not a question ("hello", a test): nobody is followed up, nothing is learned


class AskOutcome(str, Enum):
    answered = "answered"
    confirm = "confirm"  # the agent asks the caller whether it understood them (POST /api/confirmations/{id})
    escalated = "escalated"
    replied = "replied"  # the agent handled the turn itself (a greeting, thanks, "say that again"): no help request
    handoff = "handoff"  # the caller asked for a person, or for what only staff can do: a call-back, no help request


class Caller(StrictInput):
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] | None = None

    @field_validator("phone")
    @classmethod
    def phone_checked(cls, value: str | None) -> str | None:
        """A phone a text or a call can go to: 3 digits or more, and only + - ( ) . or spaces besides."""
        if value is None or value == "":
            return None
        digits = [c for c in value if c.isdigit()]
        allowed = set("0123456789+-(). ")
        if len(digits) < 3 or any(c not in allowed for c in value):
            raise ValueError("phone must contain digits and only + - ( ) . or spaces")
        return value


class AskRequest(StrictInput):
    question: QuestionText
    caller: Caller = Field(default_factory=Caller)
    session_id: (
        Annotated[
            str,
            StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$"),
        ]
        | None
    ) = None


class AskResponse(BaseModel):
    outcome: AskOutcome
    answer: str | None
    knowledge_id: int | None  # with `confirm`: the entry the agent thinks the caller means
    score: float  # the best entry's similarity (mean of its nearest phrasing's and its centroid's cosine)
    # The number compared with the thresholds (0 to 1): `score` plus half the best entry's lead over the
    # runner-up. Answered at or above `GET /api/quality`'s `threshold`, confirmed from its `confirm_threshold`.
    confidence: float = 0.0
    # With `escalated`: this caller's own reference to the request (its follow-up carries the same one). Two
    # callers who asked alike share one request for the supervisor, but never a reference.
    reference: int | None
    message: str  # what the agent says
    confirmation_id: str | None = None  # with `confirm`: answer it at POST /api/confirmations/{confirmation_id}
    end_call: bool = False  # the caller said goodbye: the call page ends the call


class SessionPublic(BaseModel):
    """A call session issued by the server. The token also comes as the HttpOnly cookie `fd_session`."""

    session_id: str
    session_token: str
    expires_at: datetime


class SessionTurn(BaseModel):
    """One question the caller asked in this session, and the answer when the agent gave one."""

    question: str
    outcome: str  # as the ask answered it (an unanswered confirmation shows as escalated once it is)
    answer: str | None
    asked_at: datetime


class CurrentSession(BaseModel):
    """The call session whose token this browser holds (`GET /api/sessions/current`), so a new tab can resume it:
    its latest turns, oldest first, and the references it still waits on. Its follow-ups replay from its event
    stream."""

    session_id: str
    expires_at: datetime
    turns: list[SessionTurn]
    waiting: list[int]


class ConfirmationAnswer(StrictInput):
    confirmed: bool


class WaitingCaller(BaseModel):
    reference: int  # the `reference` this caller's ask returned (each caller their own)
    name: str | None
    phone: str | None
    session_id: str | None
    phone_verified: bool = False  # proved with a code (only such a number is ever texted)
    joined_at: datetime
    question: str | None = None  # the caller's own words (None once past KB_RETENTION_DAYS)


class CallTurn(BaseModel):
    """An earlier question in the same call, and what the agent did with it."""

    asked_at: datetime
    question: str
    outcome: str  # answered, confirm, escalated (as in an ask's response)
    answer: str | None  # the entry's answer, for an answered question


class HelpRequestPublic(BaseModel):
    id: int
    question: str
    status: HelpRequestStatus
    caller_name: str | None
    caller_phone: str | None
    session_id: str | None
    callers: list[WaitingCaller]
    created_at: datetime
    deadline_at: datetime
    resolved_at: datetime | None
    expired_at: datetime | None
    answer: str | None
    answered_by: str | None
    knowledge_id: int | None
    best_score: float | None
    dismissed_at: datetime | None = None
    dismissed_by: str | None = None
    # The call's earlier questions, oldest first (the first caller's session, before this question was asked).
    transcript: list[CallTurn] = []


class SupervisorSignIn(StrictInput):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class SupervisorSignedIn(BaseModel):
    name: str


class DismissRequest(StrictInput):
    dismissed_by: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None


class HelpRequestPage(BaseModel):
    items: list[HelpRequestPublic]
    total: int
    limit: int
    offset: int


class ResolveRequest(StrictInput):
    answer: AnswerText
    question: QuestionText | None = None
    learn: bool | None = None  # None: learn it unless it looks personal (desk/personal.py)
    knowledge_id: int | None = None
    # A personal answer goes only to the caller who asked, and to these other waiting callers' references.
    include_references: Annotated[list[int], Field(max_length=200)] = []
    answered_by: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None


class ResolveResponse(BaseModel):
    help_request: HelpRequestPublic
    knowledge_id: int | None
    followups_queued: int
    learned: bool = True
    personal_reasons: list[str] = []  # why it looks personal (desk/personal.py): not learned, sent to one caller


class SimilarHelpRequest(HelpRequestPublic):
    similarity: float  # cosine between this request's question and the answered one's


class SimilarPage(BaseModel):
    items: list[SimilarHelpRequest]  # pending requests, most similar first
    threshold: float  # KB_SIMILAR_THRESHOLD: the least similarity listed


class SimilarResolveRequest(StrictInput):
    help_request_ids: Annotated[list[int], Field(min_length=1, max_length=200)]


class SimilarResolveResponse(BaseModel):
    resolved: list[int]  # answered now, each caller followed up
    skipped: list[int]  # no longer pending, or no longer similar enough
    followups_queued: int


class PhrasingPublic(BaseModel):
    id: int
    question: str


class KnowledgePublic(BaseModel):
    id: int
    answer: str
    phrasings: list[PhrasingPublic]
    hit_count: int
    last_used_at: datetime | None
    created_at: datetime
    updated_at: datetime
    score: float | None = None  # set when listed as a search result


class KnowledgePage(BaseModel):
    items: list[KnowledgePublic]
    total: int
    limit: int
    offset: int


class KnowledgeCreate(StrictInput):
    answer: AnswerText
    questions: list[QuestionText] = Field(min_length=1, max_length=100)


class KnowledgeUpdate(StrictInput):
    answer: AnswerText | None = None
    questions: list[QuestionText] | None = Field(default=None, min_length=1, max_length=100)


SessionIdText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
]


class CallConfigPublic(BaseModel):
    """What the call page needs to know at start. Public: never a secret."""

    business_name: str
    greeting: str
    livekit_enabled: bool
    speech: Literal["server", "browser", "off"] = Field(
        description="Who hears the caller: `server` (POST /api/transcribe), `browser` (Web Speech) or `off`"
    )


class TranscriptPublic(BaseModel):
    """What the caller said, as this server heard it ("" for silence)."""

    text: str
    duration_seconds: float


class LivekitTokenRequest(StrictInput):
    session_id: SessionIdText


class LivekitTokenPublic(BaseModel):
    url: str
    token: str
    room: str
    identity: str
    expires_in: int

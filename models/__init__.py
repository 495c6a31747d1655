"""Shared pydantic schemas: the JSON contract between the service, the console and the call page."""

from models.schemas import (
    AskOutcome,
    AskRequest,
    AskResponse,
    Caller,
    HelpRequestPage,
    HelpRequestPublic,
    HelpRequestStatus,
    KnowledgeCreate,
    KnowledgePage,
    KnowledgePublic,
    KnowledgeUpdate,
    PhrasingPublic,
    ResolveRequest,
    ResolveResponse,
    StatsPublic,
    WaitingCaller,
)

__all__ = [
    "AskOutcome",
    "AskRequest",
    "AskResponse",
    "Caller",
    "HelpRequestPage",
    "HelpRequestPublic",
    "HelpRequestStatus",
    "KnowledgeCreate",
    "KnowledgePage",
    "KnowledgePublic",
    "KnowledgeUpdate",
    "PhrasingPublic",
    "ResolveRequest",
    "ResolveResponse",
    "StatsPublic",
    "WaitingCaller",
]

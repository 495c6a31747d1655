from typing import Annotated

from fastapi import APIRouter, Query

from kb_service.api.deps import IdempotencyKeyHeader, RuntimeDep, SupervisorDep
from kb_service.desk.dismissals import dismiss
from kb_service.desk.similar import resolve_similar, similar_page
from kb_service.storage.idempotency import IdempotencyKey
from models import (
    DismissRequest,
    HelpRequestPage,
    HelpRequestPublic,
    HelpRequestStatus,
    ResolveRequest,
    ResolveResponse,
    SimilarPage,
    SimilarResolveRequest,
    SimilarResolveResponse,
)

router = APIRouter(prefix="/api/help-requests", tags=["supervisor"])

Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0)]


@router.get("", response_model=HelpRequestPage)
def list_help_requests(
    runtime: RuntimeDep,
    supervisor: SupervisorDep,
    status: HelpRequestStatus | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
    order: Annotated[str, Query(pattern="^(newest|oldest)$")] = "newest",
) -> HelpRequestPage:
    """Newest first by default; `order=oldest` suits a queue of pending requests."""
    items, total = runtime.desk.list(status, limit, offset, oldest_first=order == "oldest")
    return HelpRequestPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/{help_request_id}", response_model=HelpRequestPublic)
def get_help_request(help_request_id: int, runtime: RuntimeDep, supervisor: SupervisorDep) -> HelpRequestPublic:
    return runtime.desk.get(help_request_id)


@router.post("/{help_request_id}/resolve", response_model=ResolveResponse)
def resolve_help_request(
    help_request_id: int,
    body: ResolveRequest,
    runtime: RuntimeDep,
    supervisor: SupervisorDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> ResolveResponse:
    """Answer, learn (unless `learn` is false) and follow up with every waiting caller, all at once.

    A retry with the same `Idempotency-Key` and body replays the first response (409 with another body)."""
    key = IdempotencyKey.of("resolve", idempotency_key, help_request_id, body)
    return runtime.desk.resolve(help_request_id, body, answered_by=supervisor, idempotency=key)


@router.post("/{help_request_id}/dismiss", response_model=HelpRequestPublic)
def dismiss_help_request(
    help_request_id: int, runtime: RuntimeDep, supervisor: SupervisorDep, body: DismissRequest | None = None
) -> HelpRequestPublic:
    """Not a question ("hello", a test): the request leaves the queue as `dismissed`. Nobody is texted or followed
    up and nothing is learned. 409 if it is no longer pending, 404 if there is no such request."""
    by = (body.dismissed_by if body else None) or supervisor
    return dismiss(runtime.desk, help_request_id, by)


@router.get("/{help_request_id}/similar", response_model=SimilarPage)
def list_similar(help_request_id: int, runtime: RuntimeDep, supervisor: SupervisorDep) -> SimilarPage:
    """Pending requests whose question is like this one's (cosine >= KB_SIMILAR_THRESHOLD), most similar first."""
    return similar_page(runtime.desk, help_request_id, runtime.settings.similar_threshold)


@router.post("/{help_request_id}/similar/resolve", response_model=SimilarResolveResponse)
def resolve_similar_requests(
    help_request_id: int, body: SimilarResolveRequest, runtime: RuntimeDep, supervisor: SupervisorDep
) -> SimilarResolveResponse:
    """Send this resolved request's answer to the chosen similar pending requests, each resolved and followed up
    like a resolve. Ids no longer pending or no longer similar come back in `skipped`; 409 if this one is not
    resolved."""
    return resolve_similar(
        runtime.desk, help_request_id, body.help_request_ids, runtime.settings.similar_threshold, supervisor
    )

import time

from fastapi import APIRouter, Request

from kb_service import metrics
from kb_service.deps import RuntimeDep
from kb_service.idempotency import IdempotencyKey, IdempotencyKeyHeader
from models import AskRequest, AskResponse

router = APIRouter(tags=["caller"])


@router.post("/api/ask", response_model=AskResponse)
def ask(body: AskRequest, runtime: RuntimeDep, request: Request,
        idempotency_key: IdempotencyKeyHeader = None) -> AskResponse:
    """Answer from the knowledge base when confident; otherwise escalate to the supervisor.

    A retry with the same `Idempotency-Key` and body replays the first response (409 with another body)."""
    started = time.perf_counter()
    response = runtime.receptionist.ask(body, IdempotencyKey.of("ask", idempotency_key, body))
    metrics.of(request).ask_done(response.outcome.value, time.perf_counter() - started)
    if response.help_request_id is not None:
        runtime.outbox_worker.wake()
    return response

import time

from fastapi import APIRouter, Request, Response

from kb_service import metrics
from kb_service.deps import RuntimeDep
from kb_service.idempotency import IdempotencyKey, IdempotencyKeyHeader
from models import AskRequest, AskResponse

router = APIRouter(tags=["caller"])


@router.post("/api/ask", response_model=AskResponse)
async def ask(body: AskRequest, runtime: RuntimeDep, request: Request,
              idempotency_key: IdempotencyKeyHeader = None) -> Response:
    """Answer from the knowledge base when confident; otherwise escalate to the supervisor.

    A retry with the same `Idempotency-Key` and body replays the first response (409 with another body)."""
    started = time.perf_counter()
    # Awaited, not run here: the model, the search and the commit run on the pipeline's threads.
    response = await runtime.asks.ask(body, IdempotencyKey.of("ask", idempotency_key, body))
    metrics.of(request).ask_done(response.outcome.value, time.perf_counter() - started)
    if response.help_request_id is not None:
        runtime.outbox_worker.wake()
    # Already an AskResponse: sent as it is rather than validated a second time against response_model.
    return Response(response.model_dump_json(), media_type="application/json")

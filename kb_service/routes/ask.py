from fastapi import APIRouter

from kb_service.deps import RuntimeDep
from models import AskRequest, AskResponse

router = APIRouter(tags=["caller"])


@router.post("/api/ask", response_model=AskResponse)
def ask(body: AskRequest, runtime: RuntimeDep) -> AskResponse:
    """Answer from the knowledge base when confident; otherwise escalate to the supervisor."""
    response = runtime.receptionist.ask(body)
    if response.help_request_id is not None:
        runtime.outbox_worker.wake()
    return response

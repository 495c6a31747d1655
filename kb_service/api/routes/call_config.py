"""What the call page needs at start: who it answers for, LiveKit, who hears the caller. Public: no secrets."""

from fastapi import APIRouter

from kb_service.api.deps import RuntimeDep
from kb_service.api.routes.livekit import livekit_enabled
from models.schemas import CallConfigPublic

router = APIRouter(tags=["caller"])


def greeting(business_name: str) -> str:
    """Says the caller is talking to an automated assistant, whatever the configuration (EU AI Act art. 50,
    California's bot disclosure law)."""
    return (
        f"Hi, thanks for calling {business_name}. I'm the automated assistant: I can answer questions"
        " or have a person call you back, so how can I help?"
    )


@router.get("/api/call-config", response_model=CallConfigPublic)
def call_config(runtime: RuntimeDep) -> CallConfigPublic:
    settings = runtime.settings
    return CallConfigPublic(
        business_name=settings.business_name,
        greeting=greeting(settings.business_name),
        livekit_enabled=livekit_enabled(settings),
        speech=settings.speech,
    )

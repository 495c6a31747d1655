"""POST /api/transcribe: the caller's recorded question in, its text out, heard on this server (KB_SPEECH=server)."""

from __future__ import annotations

import math

from fastapi import APIRouter, Request

from kb_service.api.deps import RuntimeDep, SessionIdQuery, SessionTokenDep
from kb_service.errors import DomainError
from kb_service.speech import AudioTooLong, SpeechUnavailable
from kb_service.speech.audio import MAX_BYTES, MAX_SECONDS, check_media_type
from models.schemas import TranscriptPublic

router = APIRouter(tags=["caller"])

AUDIO_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            media_type: {"schema": {"type": "string", "format": "binary"}}
            for media_type in ("audio/wav", "audio/webm", "audio/ogg")
        },
    }
}


class TooManyTranscriptions(DomainError):
    status_code = 429

    def __init__(self, wait: float):
        retry_after = max(1, math.ceil(wait))
        super().__init__(f"too many recordings for this call; retry in {retry_after} s")
        self.headers = {"Retry-After": str(retry_after)}


@router.post(
    "/api/transcribe",
    response_model=TranscriptPublic,
    openapi_extra=AUDIO_BODY,
    responses={
        403: {"description": "not this session's token"},
        413: {"description": f"over {MAX_BYTES} bytes or {MAX_SECONDS:g} s of audio"},
        415: {"description": "the body is not audio/wav, audio/webm or audio/ogg"},
        422: {"description": "the audio cannot be decoded"},
        429: {"description": "too many recordings from this session or client (Retry-After)"},
        503: {"description": "speech recognition is off (KB_SPEECH), its model failed to load, or it is busy"},
    },
)
async def transcribe(
    request: Request,
    runtime: RuntimeDep,
    token: SessionTokenDep,
    session_id: SessionIdQuery,
) -> TranscriptPublic:
    """The text of one recorded question (at most 15 s and 1 MB), for the call session `session_id`: its token is
    needed (403 otherwise). Silence gives `{"text": ""}`. The audio is decoded and heard here, and not kept."""
    speech = runtime.speech
    if speech is None:
        raise SpeechUnavailable(f"speech recognition on this server is off (KB_SPEECH={runtime.settings.speech})")
    runtime.sessions.check(session_id, token)  # one primary-key read: no threadpool hop
    check_media_type(request.headers.get("content-type"))
    if (wait := runtime.transcriptions.take(session_id)) > 0:
        raise TooManyTranscriptions(wait)
    data = await request.body()  # already read, up to its cap, by BodyLimit
    if len(data) > MAX_BYTES:
        raise AudioTooLong(f"the recording is larger than {MAX_BYTES} bytes")
    transcript = await speech.transcribe(data)
    return TranscriptPublic(text=transcript.text, duration_seconds=transcript.duration_seconds)

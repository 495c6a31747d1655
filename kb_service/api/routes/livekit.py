"""A LiveKit room per call, so a supervisor can listen in. Off unless every LIVEKIT_* setting is set.

The caller's token has least privilege: one room (`call-<session_id>`), an identity the server picks, a short
life, and only join + publish the microphone. No subscribe (the agent speaks in the caller's own browser, so there
is nothing in the room for the caller to hear, and a token that leaks cannot listen in), and no admin, create,
list or data grants. Only the call session's own token gets one, at most a few a minute."""

from __future__ import annotations

import math
import secrets
from datetime import timedelta

from fastapi import APIRouter
from livekit.api import AccessToken, VideoGrants

from kb_service.api.deps import RuntimeDep, SessionTokenDep
from kb_service.config import Settings
from kb_service.errors import DomainError
from models.schemas import LivekitTokenPublic, LivekitTokenRequest

router = APIRouter(tags=["caller"])

TOKEN_TTL = timedelta(minutes=10)


class LivekitOff(DomainError):
    status_code = 503


class TooManyTokens(DomainError):
    status_code = 429


def livekit_enabled(settings: Settings) -> bool:
    values = (settings.livekit_url, settings.livekit_api_key, settings.livekit_api_secret)
    return all(v and v.strip() for v in values)


def room_for(session_id: str) -> str:
    return f"call-{session_id}"


def caller_token(settings: Settings, session_id: str) -> LivekitTokenPublic:
    """Mint a join token for this call's room, for a new server-assigned caller identity."""
    room = room_for(session_id)
    url, key, secret = (v or "" for v in (settings.livekit_url, settings.livekit_api_key, settings.livekit_api_secret))
    identity = f"caller-{secrets.token_hex(6)}"
    grants = VideoGrants(
        room_join=True,
        room=room,
        can_publish=True,
        can_subscribe=False,  # the agent speaks in the caller's browser: nothing in the room is for the caller
        can_publish_data=False,
        can_publish_sources=["microphone"],
    )
    token = (
        AccessToken(key.strip(), secret.strip())
        .with_identity(identity)
        .with_name("Caller")
        .with_grants(grants)
        .with_ttl(TOKEN_TTL)
        .to_jwt()
    )
    return LivekitTokenPublic(
        url=url.strip(),
        token=token,
        room=room,
        identity=identity,
        expires_in=int(TOKEN_TTL.total_seconds()),
    )


@router.post(
    "/api/livekit/token",
    response_model=LivekitTokenPublic,
    responses={503: {"description": "LiveKit is not configured on this service"}},
)
def livekit_token(body: LivekitTokenRequest, runtime: RuntimeDep, token: SessionTokenDep) -> LivekitTokenPublic:
    """A token for the caller page to join its own call's room and publish its microphone (the session's token is
    needed: 403 otherwise; 429 past TOKENS_PER_SESSION_PER_MINUTE)."""
    if not livekit_enabled(runtime.settings):
        raise LivekitOff("LiveKit is off: set LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET to enable it")
    runtime.sessions.check(body.session_id, token)
    if (wait := runtime.livekit_tokens.take(body.session_id)) > 0:
        raise TooManyTokens(f"too many LiveKit tokens for this call; retry in {math.ceil(wait)} s")
    return caller_token(runtime.settings, body.session_id)

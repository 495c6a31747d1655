"""Request dependencies: the runtime from the app's lifespan state, the supervisor and session checks, and the
parameter types routes share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Path, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kb_service.auth import token_matches
from kb_service.runtime import Runtime
from kb_service.storage.idempotency import MAX_KEY_CHARS

_bearer = HTTPBearer(auto_error=False, description="The supervisor token (KB_SUPERVISOR_TOKEN).")


async def get_runtime(request: Request) -> Runtime:  # async: no threadpool hop for a lookup
    return request.app.state.runtime


def require_supervisor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    runtime: Runtime = request.app.state.runtime
    if credentials is None or not token_matches(runtime.token, credentials.credentials):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="missing or wrong supervisor token: send 'Authorization: Bearer <KB_SUPERVISOR_TOKEN>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return "supervisor"


SESSION_COOKIE = "fd_session"


def session_token(
    request: Request,
    x_session_token: Annotated[
        str | None, Header(max_length=128, description="The call session's token (or the `fd_session` cookie).")
    ] = None,
) -> str | None:
    """The caller's session token: the `X-Session-Token` header, else the `fd_session` cookie."""
    return x_session_token or request.cookies.get(SESSION_COOKIE)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SessionTokenDep = Annotated[str | None, Depends(session_token)]
SupervisorDep = Annotated[str, Depends(require_supervisor)]
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=MAX_KEY_CHARS,
        description="Any unique string per logical request, such as a UUID. A retry with the same key "
        "and body replays the first response; the same key with another body gets 409.",
    ),
]

# A server-issued call session's id (URL-safe base64), in a route's path or in its query string.
_SESSION_ID = {"min_length": 1, "max_length": 64, "pattern": r"^[A-Za-z0-9_-]+$"}
SessionId = Annotated[str, Path(**_SESSION_ID)]
SessionIdQuery = Annotated[str, Query(**_SESSION_ID)]

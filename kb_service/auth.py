"""The supervisor token: from KB_SUPERVISOR_TOKEN, or generated once and kept in the data directory."""

from __future__ import annotations

import hmac
import os
import secrets

from kb_service.config import Settings
from kb_service.errors import DomainError

# It is the console's password and every supervisor route's key: long enough that guessing is hopeless.
MIN_TOKEN_CHARS = 24


class WeakToken(DomainError):
    """A supervisor token too short to keep guessers out; the service refuses to start with it."""


def load_or_create_token(settings: Settings) -> tuple[str, bool]:
    """Returns (token, generated_now). Raises WeakToken for a configured or stored token under MIN_TOKEN_CHARS."""
    if settings.supervisor_token:
        _check(settings.supervisor_token, "KB_SUPERVISOR_TOKEN", "unset it")
        return settings.supervisor_token, False
    path = settings.token_path
    if path.exists():
        token = path.read_text().strip()
        if token:
            _check(token, f"the supervisor token in {path}", "delete the file")
            return token, False
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)  # 32 characters
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token, True


def _check(token: str, where: str, to_generate: str) -> None:
    if len(token) < MIN_TOKEN_CHARS:
        raise WeakToken(
            f"{where} is too short: {len(token)} characters, at least {MIN_TOKEN_CHARS} needed"
            f" ({to_generate} to have one generated at start)"
        )


def token_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison, so response timing leaks nothing about the token."""
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())

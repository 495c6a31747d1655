"""The supervisor token: from KB_SUPERVISOR_TOKEN, or generated once and kept in the data directory."""

from __future__ import annotations

import hmac
import os
import secrets

from kb_service.config import Settings


def load_or_create_token(settings: Settings) -> tuple[str, bool]:
    """Returns (token, generated_now)."""
    if settings.supervisor_token:
        return settings.supervisor_token, False
    path = settings.token_path
    if path.exists():
        token = path.read_text().strip()
        if token:
            return token, False
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token, True


def token_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison, so response timing leaks nothing about the token."""
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())

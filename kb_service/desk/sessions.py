"""Caller sessions, issued by the server: a random id and a random token, the token kept only as its hash.

Every caller route that names a session (asking with a `session_id`, its event stream, its LiveKit token, its
confirmations) needs the session's token, so a stranger who learns or guesses an id can neither read that
caller's follow-ups nor push text onto their page. A wrong or missing token and an unknown or expired session
get the same answer, so nothing tells whether a session exists."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime

from kb_service.errors import Forbidden
from kb_service.storage.store import Store, iso, iso_in, now

NOT_YOURS = "this call session needs its own session token (POST /api/sessions gives one)"


@dataclass(frozen=True)
class IssuedSession:
    session_id: str
    session_token: str
    expires_at: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def client_address(host: str | None) -> str | None:
    """The client a session is counted as: its IPv4 address, or its IPv6 /64 (one subscriber's usual share, so a
    client cannot be many by rotating the low bits). A host that is no address (a test client) stays as it is."""
    if not host:
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class CallerSessions:
    def __init__(self, store: Store, ttl_seconds: float):
        self.store = store
        self.ttl_seconds = ttl_seconds

    def issue(self, client_host: str | None = None) -> IssuedSession:
        """A new session, remembering the client address it was opened from (`client_address`)."""
        session_id, token = secrets.token_urlsafe(16), secrets.token_urlsafe(32)
        start = now()
        expires = iso_in(self.ttl_seconds, start)
        with self.store.write() as tx:
            tx.execute(
                "INSERT INTO caller_sessions (id, token_hash, created_at, expires_at, client_ip) VALUES (?, ?, ?, ?, ?)",
                (session_id, _hash(token), iso(start), expires, client_address(client_host)),
            )
        return IssuedSession(session_id, token, datetime.fromisoformat(expires))

    def check(self, session_id: str, token: str | None) -> None:
        """Raises Forbidden unless `token` is this live session's."""
        row = self.store.query_one("SELECT token_hash, expires_at FROM caller_sessions WHERE id = ?", (session_id,))
        expected = row["token_hash"] if row is not None and row["expires_at"] > iso(now()) else "-"
        if not hmac.compare_digest(expected, _hash(token or "")):
            raise Forbidden(NOT_YOURS)

    def held(self, token: str | None) -> tuple[str, datetime] | None:
        """The live session whose token this is (id, expiry), or None."""
        if not token:
            return None
        row = self.store.query_one(
            "SELECT id, expires_at FROM caller_sessions WHERE token_hash = ? AND expires_at > ?",
            (_hash(token), iso(now())),
        )
        return None if row is None else (row["id"], datetime.fromisoformat(row["expires_at"]))

    def forget_expired(self) -> int:
        with self.store.write() as tx:
            return tx.execute("DELETE FROM caller_sessions WHERE expires_at <= ?", (iso(now()),)).rowcount

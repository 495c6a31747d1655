"""`Idempotency-Key`: a retried request with the same key and body replays the first response.

The key and the response are written in the same transaction as the effect, so either both exist or neither:
a crash can never leave an effect without its key (a retry would repeat it) or a key without its effect."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from pydantic import BaseModel

from kb_service.errors import Conflict
from kb_service.storage.store import Store, Tx, iso, iso_in, now

MAX_KEY_CHARS = 255
KEEP_SECONDS = 24 * 3600  # long enough for any client retry; old keys are swept


@dataclass(frozen=True)
class IdempotencyKey:
    scope: str  # the operation, such as "ask" or "resolve"
    key: str
    fingerprint: str  # what the request asked for; the same key with another fingerprint is a conflict

    @classmethod
    def of(cls, scope: str, key: str | None, *request_parts: object) -> IdempotencyKey | None:
        if key is None:
            return None
        parts = [p.model_dump(mode="json") if isinstance(p, BaseModel) else p for p in request_parts]
        digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
        return cls(scope, key, digest)

    def replay(self, tx: Tx) -> dict | None:
        """The stored response of an earlier request with this key, or None if this is the first."""
        row = tx.execute(
            "SELECT fingerprint, response FROM idempotency_keys WHERE scope = ? AND key = ?", (self.scope, self.key)
        ).fetchone()
        if row is None:
            return None
        if row["fingerprint"] != self.fingerprint:
            raise Conflict(
                f"Idempotency-Key {self.key!r} was already used with a different request; "
                "use a new key for a new request"
            )
        return json.loads(row["response"])

    def remember(self, tx: Tx, response: BaseModel) -> None:
        tx.execute(
            "INSERT INTO idempotency_keys (scope, key, fingerprint, response, created_at) VALUES (?, ?, ?, ?, ?)",
            (self.scope, self.key, self.fingerprint, response.model_dump_json(), iso(now())),
        )


def client_scope(operation: str, session_token: str | None, client_ip: str | None) -> str:
    """A key is one client's: its call session (by the token's hash) or, without one, its address. Another client
    sending the same key gets its own request, never the first client's response."""
    if session_token:
        return f"{operation}:session:{hashlib.sha256(session_token.encode()).hexdigest()[:32]}"
    return f"{operation}:ip:{client_ip or 'unknown'}"


def forget_expired(store: Store, keep_seconds: float = KEEP_SECONDS) -> int:
    with store.write() as tx:
        return tx.execute("DELETE FROM idempotency_keys WHERE created_at < ?", (iso_in(-keep_seconds),)).rowcount

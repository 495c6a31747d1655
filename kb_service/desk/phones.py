"""A caller proves a phone number before anything is texted to it: a one-time code, sent once to the number
(`POST /api/sessions/{session_id}/phone`) and typed back on the call page (`…/phone/verify`).

The code is kept only as a hash, lives `KB_PHONE_CODE_TTL_SECONDS`, and allows MAX_ATTEMPTS wrong tries before a
new one is needed. Sending a code is a text like any other: it counts against the hourly caps (desk/texts.py).
Once proved, the number is the session's: the session's waiting questions and later asks are texted there."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from kb_service.desk import outbox, texts
from kb_service.desk.sessions import client_address
from kb_service.desk.texts import TextCaps, TooManyTexts
from kb_service.errors import Conflict, DomainError
from kb_service.ops.logs import mask_phone
from kb_service.storage.store import Effect, Store, Tx, iso, iso_in, now
from models.phones import PhoneCodeSent, PhoneVerified

MAX_ATTEMPTS = 5
CODE_DIGITS = 6
EVENT_TYPE = "phone.verification"


class WrongCode(DomainError):
    status_code = 400


@dataclass(frozen=True)
class PhoneCodes:
    store: Store
    business_name: str
    queued: Effect  # after a commit that queued a text: wakes the outbox's workers
    caller_webhook_url: str | None
    caps: TextCaps
    code_ttl_seconds: float = 600.0

    def send(self, session_id: str, phone: str, client_ip: str | None) -> PhoneCodeSent:
        """Text a new code to `phone` for this session (any earlier code stops working). 429 past a cap; the
        per-client cap counts `client_ip` as sessions count it (an IPv6 address as its /64)."""
        client_ip = client_address(client_ip)
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        minutes = max(1, round(self.code_ttl_seconds / 60))
        message = f"Your {self.business_name} code is {code}. It expires in {minutes} min. Never share it."
        stamp = iso(now())
        with self.store.write() as tx:
            if (broken := texts.over_cap(tx, self.caps, phone, client_ip)) is not None:
                raise TooManyTexts(f"no code sent: {broken}; try again later", int(texts.HOUR // 4))
            tx.execute("DELETE FROM phone_codes WHERE session_id = ?", (session_id,))
            tx.execute(
                "INSERT INTO phone_codes (session_id, phone, code_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                (session_id, phone, _hash(session_id, code), stamp, iso_in(self.code_ttl_seconds)),
            )
            texts.record(tx, phone, "code", client_ip)
            tx.on_commit(self.queued)
            sms = {"text": f"SMS to {mask_phone(phone)}: {message}"}
            outbox.queue(tx, EVENT_TYPE, outbox.CONSOLE, sms, stamp=stamp)
            if self.caller_webhook_url:
                payload = {"caller_phone": phone, "message": message, "session_id": session_id}
                outbox.queue(tx, EVENT_TYPE, outbox.WEBHOOK, payload, self.caller_webhook_url, stamp)
        return PhoneCodeSent(
            phone=phone,
            expires_in=int(self.code_ttl_seconds),
            message=f"We texted a code to {mask_phone(phone)}. Type it here to confirm your number.",
        )

    def verify(self, session_id: str, code: str) -> PhoneVerified:
        """The session's number is proved by its code. 409 without a live code (or after MAX_ATTEMPTS wrong
        ones: a new code is needed); 400 for a wrong code, with the tries left."""
        wrong: str | None = None
        with self.store.write() as tx:
            row = tx.execute("SELECT * FROM phone_codes WHERE session_id = ?", (session_id,)).fetchone()
            if row is None or row["expires_at"] <= iso(now()) or row["attempts"] >= MAX_ATTEMPTS:
                raise Conflict("no code is waiting for this call (or it expired): ask for a new code")
            if not hmac.compare_digest(row["code_hash"], _hash(session_id, code.strip())):
                left = MAX_ATTEMPTS - row["attempts"] - 1
                tx.execute("UPDATE phone_codes SET attempts = attempts + 1 WHERE session_id = ?", (session_id,))
                wrong = f"that code is wrong; {left} tries left" if left else "that code is wrong: ask for a new code"
            else:
                phone = row["phone"]
                tx.execute("DELETE FROM phone_codes WHERE session_id = ?", (session_id,))
                tx.execute("UPDATE caller_sessions SET verified_phone = ? WHERE id = ?", (phone, session_id))
                _mark_callers(tx, session_id, phone)
        if wrong is not None:  # raised after the commit, so the wrong try counts
            raise WrongCode(wrong)
        return PhoneVerified(phone=phone, verified=True, message=f"Thanks: we will text {mask_phone(phone)}.")

    def forget_expired(self) -> int:
        with self.store.write() as tx:
            return tx.execute("DELETE FROM phone_codes WHERE expires_at <= ?", (iso(now()),)).rowcount


def verified_phone(tx: Tx, session_id: str | None) -> str | None:
    """The number this session's caller proved, if any."""
    if session_id is None:
        return None
    row = tx.execute("SELECT verified_phone FROM caller_sessions WHERE id = ?", (session_id,)).fetchone()
    return row["verified_phone"] if row is not None else None


def is_verified(tx: Tx, session_id: str | None, phone: str | None) -> int:
    """1 when `phone` is the number this session proved, else 0 (a column value on either backend)."""
    proved = verified_phone(tx, session_id)
    return int(bool(phone and proved and texts.digits(phone) == texts.digits(proved)))


def _mark_callers(tx: Tx, session_id: str, phone: str) -> None:
    """The session's waiting questions with this number (or none) are now texted there."""
    rows = tx.execute("SELECT id, phone FROM help_request_callers WHERE session_id = ?", (session_id,)).fetchall()
    for row in rows:
        if not row["phone"] or texts.digits(row["phone"]) == texts.digits(phone):
            tx.execute("UPDATE help_request_callers SET phone = ?, phone_verified = 1 WHERE id = ?", (phone, row["id"]))


def _hash(session_id: str, code: str) -> str:
    return hashlib.sha256(f"{session_id}:{code}".encode()).hexdigest()

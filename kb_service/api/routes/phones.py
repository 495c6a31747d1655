"""A caller proves a phone number: `POST /api/sessions/{session_id}/phone` texts a one-time code to it, and
`POST /api/sessions/{session_id}/phone/verify` checks the code. Both need the session's token."""

from fastapi import APIRouter, Request

from kb_service.api.deps import RuntimeDep, SessionId, SessionTokenDep
from models.phones import PhoneCodeCheck, PhoneCodeRequest, PhoneCodeSent, PhoneVerified

router = APIRouter(tags=["caller"])


@router.post("/api/sessions/{session_id}/phone", response_model=PhoneCodeSent)
def send_phone_code(
    session_id: SessionId, body: PhoneCodeRequest, request: Request, runtime: RuntimeDep, token: SessionTokenDep
) -> PhoneCodeSent:
    """Text a one-time code to `phone`; nothing else is texted to a number until its code comes back. 403
    without the session's token; 429 with Retry-After past KB_SMS_PER_NUMBER_PER_HOUR, KB_SMS_PER_IP_PER_HOUR or
    KB_SMS_PER_HOUR."""
    runtime.sessions.check(session_id, token)
    client_ip = request.client.host if request.client else None
    return runtime.phone_codes.send(session_id, body.phone, client_ip)


@router.post("/api/sessions/{session_id}/phone/verify", response_model=PhoneVerified)
def verify_phone(
    session_id: SessionId, body: PhoneCodeCheck, runtime: RuntimeDep, token: SessionTokenDep
) -> PhoneVerified:
    """The code from the text: the number is proved for this call. 400 for a wrong code (5 tries), 409 when no
    code is waiting (none asked, expired, or too many wrong tries: ask for a new one)."""
    runtime.sessions.check(session_id, token)
    return runtime.phone_codes.verify(session_id, body.code)

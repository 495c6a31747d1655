from fastapi import APIRouter
from fastapi.responses import JSONResponse

from kb_service.api.deps import RuntimeDep
from kb_service.errors import DomainError

router = APIRouter(tags=["ops"])


@router.get("/healthz")
def healthz(runtime: RuntimeDep) -> JSONResponse:
    """`ok`, or 503 `unavailable` while the last write met a full or failing disk (until a write succeeds)."""
    if getattr(runtime.store, "write_failed", False):
        try:
            _probe_write(runtime)
        except DomainError as exc:
            return JSONResponse({"status": "unavailable", "detail": exc.message}, status_code=503)
    body = {"status": "ok", "knowledge_entries": runtime.kb.count(), "index_size": len(runtime.kb.index)}
    return JSONResponse(body)


def _probe_write(runtime) -> None:
    """A write that changes nothing but must reach the disk."""
    with runtime.store.write() as tx:
        tx.execute("UPDATE meta SET value = value WHERE key = 'knowledge_version'")

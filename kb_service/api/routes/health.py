from fastapi import APIRouter
from fastapi.responses import JSONResponse

from kb_service.api.deps import RuntimeDep
from kb_service.errors import DomainError
from kb_service.storage.store import Store, iso, now

router = APIRouter(tags=["ops"])


@router.get("/healthz")
def healthz(runtime: RuntimeDep) -> JSONResponse:
    """`ok`, or 503 `unavailable` while the last write met a full or failing disk (until a write succeeds)."""
    if getattr(runtime.store, "write_failed", False):
        try:
            _probe_write(runtime.store)
        except DomainError as exc:
            failing = {"status": "unavailable", "detail": exc.message}
            return JSONResponse(failing, status_code=503, headers=getattr(exc, "headers", None))
    body = {"status": "ok", "knowledge_entries": runtime.kb.count(), "index_size": len(runtime.kb.index)}
    return JSONResponse(body)


def _probe_write(store: Store) -> None:
    """One small row rewritten with the time: it must reach the disk (SQLite skips rewriting an unchanged row)."""
    with store.write() as tx:
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('disk_probe', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (iso(now()),),
        )

from fastapi import APIRouter

from kb_service.api.deps import RuntimeDep

router = APIRouter(tags=["ops"])


@router.get("/healthz")
def healthz(runtime: RuntimeDep) -> dict:
    return {"status": "ok", "knowledge_entries": runtime.kb.count(), "index_size": len(runtime.kb.index)}

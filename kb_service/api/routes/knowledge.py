from typing import Annotated

from fastapi import APIRouter, Query, Response

from kb_service.api.deps import RuntimeDep, SupervisorDep
from models import KnowledgeCreate, KnowledgePage, KnowledgePublic, KnowledgeUpdate
from models.schemas import MAX_QUESTION_CHARS

router = APIRouter(prefix="/api/knowledge", tags=["supervisor"])


@router.get("", response_model=KnowledgePage)
def list_knowledge(
    runtime: RuntimeDep,
    supervisor: SupervisorDep,
    q: Annotated[str | None, Query(max_length=MAX_QUESTION_CHARS)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> KnowledgePage:
    """All entries by id, or with `q`, the entries nearest in meaning (best first, with `score`)."""
    kb = runtime.kb
    if q and q.strip():
        # No more neighbours than the index holds: a huge offset must not allocate a huge result.
        k = min(max(limit + offset, 10) * 3, max(len(kb.index), 1))
        ranked = kb.mirror.nearest_entries(kb.embedder.embed([q.strip()]), k)[0]
        page = ranked[offset : offset + limit]
        return KnowledgePage(
            items=[kb.get(n.knowledge_id, score=n.cosine) for n in page], total=len(ranked), limit=limit, offset=offset
        )
    items, total = kb.list(limit, offset)
    return KnowledgePage(items=items, total=total, limit=limit, offset=offset)


@router.post("", response_model=KnowledgePublic, status_code=201)
def create_knowledge(body: KnowledgeCreate, runtime: RuntimeDep, supervisor: SupervisorDep) -> KnowledgePublic:
    return runtime.kb.create(body.answer, body.questions)


@router.get("/{knowledge_id}", response_model=KnowledgePublic)
def get_knowledge(knowledge_id: int, runtime: RuntimeDep, supervisor: SupervisorDep) -> KnowledgePublic:
    return runtime.kb.get(knowledge_id)


@router.patch("/{knowledge_id}", response_model=KnowledgePublic)
def update_knowledge(
    knowledge_id: int, body: KnowledgeUpdate, runtime: RuntimeDep, supervisor: SupervisorDep
) -> KnowledgePublic:
    """Phrasings given replace the old list: unchanged ones keep their ids, new ones are embedded."""
    return runtime.kb.update(knowledge_id, body.answer, body.questions)


@router.delete("/{knowledge_id}", status_code=204)
def delete_knowledge(knowledge_id: int, runtime: RuntimeDep, supervisor: SupervisorDep) -> Response:
    runtime.kb.delete(knowledge_id)
    return Response(status_code=204)

"""Knowledge import for the console, with the same code as `frontdesk import` (knowledge/importing.py)."""

from dataclasses import asdict

from fastapi import APIRouter
from fastapi.exceptions import RequestValidationError

from kb_service import demo
from kb_service.api.deps import RuntimeDep, SupervisorDep
from kb_service.knowledge import importing
from models.knowledge_import import ImportLinePublic, ImportPreview, ImportProblemPublic, ImportResult, ImportText

router = APIRouter(prefix="/api/knowledge/import", tags=["supervisor"])


@router.post("/preview", response_model=ImportPreview)
def preview_import(body: ImportText, runtime: RuntimeDep, supervisor: SupervisorDep) -> ImportPreview:
    """What importing would do, line by line, with every wrong line's problem and a warning for each question close
    in meaning to another entry's phrasing. Writes nothing."""
    planned = importing.plan(runtime.kb, body.text, body.format)
    return ImportPreview(
        lines=[ImportLinePublic.model_validate(asdict(line) | {"line": line.number}) for line in planned.lines],
        problems=[ImportProblemPublic.model_validate(asdict(problem)) for problem in planned.problems],
        entries_new=len(planned.new_entries),
        phrasings_added=planned.phrasings_added,
        duplicates_skipped=planned.skipped,
        demo_only=demo.holds_only_demo(runtime.kb),
    )


@router.post("", response_model=ImportResult)
def import_knowledge(body: ImportText, runtime: RuntimeDep, supervisor: SupervisorDep) -> ImportResult:
    """Import everything, or nothing when any line is wrong (422 naming the lines). Entries already there are
    skipped and new phrasings of an answer already there join its entry, so importing twice changes nothing.
    With `replace_demo` and a knowledge base that holds only the demo salon, the demo's entries go first."""
    planned = importing.plan(runtime.kb, body.text, body.format, near_duplicates=False)
    if planned.problems:  # a 422 like any invalid body: one error per wrong line, on `text`
        raise RequestValidationError(
            [{"loc": ("body", "text"), "msg": p.said(), "type": "import_line"} for p in planned.problems[:20]]
        )
    removed = 0
    if body.replace_demo and demo.holds_only_demo(runtime.kb):
        removed = demo.remove(runtime.kb)
        planned = importing.plan(runtime.kb, body.text, body.format, near_duplicates=False)
    imported = importing.apply(runtime.kb, planned)
    return ImportResult(
        knowledge_ids=imported.knowledge_ids,
        phrasings_added=imported.phrasings_added,
        duplicates_skipped=imported.skipped,
        demo_removed=removed,
        message=(f"replaced the demo ({importing.count(removed, 'entry', 'entries')}); " if removed else "")
        + imported.summary(),
    )

"""Knowledge import from the console: `POST /api/knowledge/import/preview` and `POST /api/knowledge/import`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, StringConstraints

from models.schemas import StrictInput


class ImportText(StrictInput):
    """The text of a CSV or JSON Lines file, or pasted pairs (question, a tab or ` | `, answer; one a line)."""

    format: Literal["jsonl", "csv", "pairs"]
    text: Annotated[str, StringConstraints(max_length=1_000_000)]
    # With `POST /api/knowledge/import`, when the knowledge base holds only the demo salon (`demo_only` in the
    # preview): delete the demo's entries first. Ignored once the knowledge base holds anything else.
    replace_demo: bool = False


class ImportLinePublic(BaseModel):
    """A line that reads well, and what importing it does: a `new` entry, `add` phrasings to entry
    `knowledge_id` (the same answer), or `skip` it (already there)."""

    line: int
    answer: str
    questions: list[str]
    action: Literal["new", "add", "skip"]
    knowledge_id: int | None
    warnings: list[str]  # near-duplicates of other entries' phrasings


class ImportProblemPublic(BaseModel):
    line: int | None  # None: the whole text
    message: str


class ImportPreview(BaseModel):
    lines: list[ImportLinePublic]
    problems: list[ImportProblemPublic]  # any problem: `POST /api/knowledge/import` would refuse (422)
    entries_new: int
    phrasings_added: int
    duplicates_skipped: int
    demo_only: bool = False  # the knowledge base holds only the demo salon: ask whether to replace it


class ImportResult(BaseModel):
    knowledge_ids: list[int]  # the entries created
    phrasings_added: int  # to entries already there
    duplicates_skipped: int
    demo_removed: int = 0  # demo entries deleted first (`replace_demo`)
    message: str  # "imported 2 entries, added 1 phrasing to existing entries, skipped 1 duplicate"

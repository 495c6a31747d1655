"""A small hair-salon knowledge base, loaded into an empty service so a newcomer's first questions work."""

from __future__ import annotations

import json
from importlib import resources

from kb_service.knowledge.entries import KnowledgeBase


def entries() -> list[tuple[str, list[str]]]:
    text = resources.files("kb_service").joinpath("demo/salon.jsonl").read_text(encoding="utf-8")
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [(row["answer"], row["questions"]) for row in rows]


def load(kb: KnowledgeBase) -> int:
    return len(kb.import_entries(entries()))


def holds_only_demo(kb: KnowledgeBase) -> bool:
    """Whether every entry is one of the demo's (the first import of a business's own data asks to replace it)."""
    answers = [row["answer"] for row in kb.store.query("SELECT answer FROM knowledge_entries")]
    demo_answers = {answer for answer, _ in entries()}
    return bool(answers) and all(answer in demo_answers for answer in answers)


def remove(kb: KnowledgeBase) -> int:
    """Delete the demo's entries (those whose answer is a demo answer); how many were deleted."""
    demo_answers = {answer for answer, _ in entries()}
    ids = [
        row["id"] for row in kb.store.query("SELECT id, answer FROM knowledge_entries") if row["answer"] in demo_answers
    ]
    for knowledge_id in ids:
        kb.delete(knowledge_id)
    return len(ids)

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

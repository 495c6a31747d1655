"""Waiting questions like one just answered, so the supervisor can send them the same answer at once.

"Similar" is the cosine between a pending request's question and the answered request's question, at least
KB_SIMILAR_THRESHOLD (0.82 by default). With the default model, "do you do eyebrow waxing?" scores 0.90 to
"Do you offer eyebrow waxing?" and 0.86 to "can I get my eyebrows waxed?", but 0.80 to "how much is eyebrow
waxing?" and 0.76 to "do you do leg waxing?", which want another answer. Above KB_DUPLICATE_THRESHOLD the
second caller would have joined the first request instead. The supervisor still ticks which ones to send, so a
wrong pairing costs a click, never a wrong follow-up.

Sending goes through `HelpDesk.resolve`, one request at a time: each is answered, learned and followed up exactly
as if the supervisor had answered it by hand."""

from __future__ import annotations

import numpy as np

from kb_service.desk import personal
from kb_service.desk.help_requests import HelpDesk
from kb_service.embedding import from_blob
from kb_service.errors import Conflict, NotFound
from models import ResolveRequest, SimilarHelpRequest, SimilarPage, SimilarResolveResponse

MAX_LISTED = 50


def similar_pending(desk: HelpDesk, help_request_id: int, threshold: float) -> list[tuple[int, float]]:
    """`(id, similarity)` of the pending requests like this one, most similar first."""
    row = desk.store.query_one("SELECT embedding FROM help_requests WHERE id = ?", (help_request_id,))
    if row is None:
        raise NotFound(f"help request {help_request_id} does not exist")
    rows = desk.store.query(
        "SELECT id, embedding FROM help_requests WHERE status = 'pending' AND id != ?", (help_request_id,)
    )
    if not rows:
        return []
    scores = np.stack([from_blob(r["embedding"]) for r in rows]) @ from_blob(row["embedding"])
    found = [(r["id"], float(s)) for r, s in zip(rows, scores, strict=True) if s >= threshold]
    return sorted(found, key=lambda pair: -pair[1])[:MAX_LISTED]


def similar_page(desk: HelpDesk, help_request_id: int, threshold: float) -> SimilarPage:
    items = []
    for similar_id, similarity in similar_pending(desk, help_request_id, threshold):
        try:
            public = desk.get(similar_id)
        except NotFound:  # gone since (retention): nothing to offer
            continue
        items.append(SimilarHelpRequest(**public.model_dump(), similarity=round(similarity, 4)))
    return SimilarPage(items=items, threshold=threshold)


def resolve_similar(
    desk: HelpDesk, help_request_id: int, chosen: list[int], threshold: float, answered_by: str
) -> SimilarResolveResponse:
    """Send an answered request's answer to the chosen pending requests that are still similar to it."""
    source = desk.get(help_request_id)
    if source.status != "resolved" or source.answer is None:
        raise Conflict(f"help request {help_request_id} is {source.status.value}: answer it first")
    if why := personal.reasons(source.answer, [c.name for c in source.callers]):
        raise Conflict(f"that answer was for one caller ({'; '.join(why)}): answer the others in their own words")
    knowledge_id = source.knowledge_id
    if knowledge_id is not None:
        try:
            desk.kb.get(knowledge_id)
        except NotFound:  # the entry was deleted since: send the answer, learn nothing
            knowledge_id = None
    body = ResolveRequest(answer=source.answer, knowledge_id=knowledge_id, learn=knowledge_id is not None)
    still_similar = {i for i, _ in similar_pending(desk, help_request_id, threshold)}
    resolved, skipped, followups = [], [], 0
    for similar_id in dict.fromkeys(chosen):  # each once, in the order given
        if similar_id not in still_similar:
            skipped.append(similar_id)
            continue
        try:
            response = desk.resolve(similar_id, body, answered_by=answered_by)
        except (Conflict, NotFound):  # answered or closed by someone else meanwhile
            skipped.append(similar_id)
            continue
        resolved.append(similar_id)
        followups += response.followups_queued
    return SimilarResolveResponse(resolved=resolved, skipped=skipped, followups_queued=followups)

"""The matching policy on a real knowledge base: entry scores, the lead, learning and leaving out."""

from __future__ import annotations

import pytest

from kb_service.knowledge.entries import KnowledgeBase
from kb_service.matching.matcher import LeaveOut, Matcher
from kb_service.storage.sqlite import SqliteStore


@pytest.fixture
def kb(tmp_path, embedder):
    store = SqliteStore(tmp_path / "kb.db")
    yield KnowledgeBase(store, embedder)
    store.close()


def test_half_the_lead_counts_once_an_entry_has_two_phrasings_and_learning_shows_at_once(kb):
    hours = kb.create("We open at 9am.", ["What time do you open?"])
    kb.create("Parking is behind the building.", ["Where can I park?"])
    matcher = Matcher(kb, threshold=0.96, confirm_threshold=0.85)
    vector = kb.embedder.embed(["when do you open in the morning"])
    before = matcher.match(vector, ["when do you open in the morning"])[0]
    assert before.best.knowledge_id == hours.id and before.margin > 0
    assert before.confidence == before.score  # one phrasing: one noisy cosine, no lead
    kb.add_phrasing(hours.id, "When do you open in the morning?")
    after = matcher.match(vector, ["when do you open in the morning"])[0]
    assert after.best.phrasings == 2 and after.confidence == pytest.approx(min(1.0, after.score + 0.5 * after.margin))
    assert after.score > before.score and after.answer and not before.answer


def test_answer_confirm_or_escalate_by_confidence_and_length(kb):
    kb.create("We open at 9am.", ["What time do you open?", "When do you open?"])
    kb.create("Parking is behind the building.", ["Where can I park?", "Is there parking?"])
    questions = ["What time do you open?", "Opening time?", "what hour do you start in the morning", "do you sell cars"]
    decisions = Matcher(kb, threshold=0.96, confirm_threshold=0.75).match(kb.embedder.embed(questions), questions)
    exact, short, paraphrase, unknown = decisions
    assert exact.outcome == "answer" and exact.near_copy  # its own wording
    assert short.outcome == "confirm"  # two words: at most confirmed, however sure
    assert paraphrase.outcome in ("confirm", "answer") and paraphrase.best.knowledge_id == exact.best.knowledge_id
    assert unknown.outcome == "escalate"
    never = Matcher(kb, threshold=0.96, confirm_threshold=None).match(kb.embedder.embed(questions[2:3]), questions[2:3])
    assert never[0].outcome in ("answer", "escalate")  # no band: nothing is ever confirmed


def test_leaving_out_a_phrasing_or_an_entry(kb):
    hours = kb.create("We open at 9am.", ["What time do you open?", "When do you open?"])
    kb.create("Parking is behind the building.", ["Where can I park?", "Is there parking?"])
    matcher = Matcher(kb, threshold=0.84)
    rows = kb.store.query("SELECT id FROM phrasings WHERE knowledge_id = ? ORDER BY id", (hours.id,))
    vector = kb.embedder.embed(["What time do you open?"])
    exact = matcher.rank(vector)[0][0]
    assert exact.knowledge_id == hours.id and exact.cosine == pytest.approx(1.0, abs=1e-5)
    without_itself = matcher.rank(vector, [LeaveOut(phrasing_id=rows[0]["id"])])[0][0]
    assert without_itself.knowledge_id == hours.id and without_itself.phrasing_id == rows[1]["id"]
    assert without_itself.blend < exact.blend and without_itself.phrasings == 1
    without_entry = matcher.rank(vector, [LeaveOut(knowledge_id=hours.id)])[0]
    assert all(c.knowledge_id != hours.id for c in without_entry)


def test_a_deleted_entry_stops_matching_at_once(kb):
    gone = kb.create("Gift cards at the desk.", ["Do you sell gift cards?", "Can I buy a gift voucher?"])
    matcher = Matcher(kb, threshold=0.84)
    vector = kb.embedder.embed(["Do you sell gift cards?"])
    assert matcher.match(vector, ["Do you sell gift cards?"])[0].answer
    kb.delete(gone.id)
    decision = matcher.match(vector, ["Do you sell gift cards?"])[0]
    assert decision.best is None and not decision.answer


def test_the_live_path_scores_and_answers_exactly_like_evaluation(kb):
    """The service guards only entries it would answer and scores centroids in one product; `frontdesk eval`
    guards every query and may leave phrasings out. Both must agree on every score and every answer."""
    import json
    from pathlib import Path

    from kb_service import demo
    from kb_service.matching.matcher import centroid_similarity

    demo.load(kb)
    pairs = [
        json.loads(line)
        for line in (Path(__file__).parent / "data" / "contrast_salon.jsonl").read_text().splitlines()
        if line.strip()
    ]
    questions = (
        [p["question"] for p in pairs]
        + [p["phrasing"] for p in pairs]
        + ["how much is a haircut", "do you do eyebrow threading?", "when do you open on saturday"]
    )
    vectors = kb.embedder.embed(questions)
    matcher = Matcher(kb, threshold=0.84)
    live, evaluated = matcher.match(vectors, questions, guard_all=False), matcher.match(vectors, questions)
    assert [d.answer for d in live] == [d.answer for d in evaluated]
    assert any(d.answer for d in live) and any(d.guard for d in evaluated)  # both outcomes really occur
    for row, ranked in enumerate(matcher.rank(vectors)):
        for candidate in ranked:  # the one-product centroid scores equal the per-entry ones
            centroid, count = centroid_similarity(kb, kb.mirror.space, vectors[row], candidate.knowledge_id)
            assert candidate.blend == pytest.approx(0.5 * candidate.cosine + 0.5 * centroid, abs=1e-6)
            assert candidate.phrasings == count


def test_the_guard_reads_an_entrys_texts_as_they_are_now(make_client, embedder):
    """The guard keeps each entry's phrasings and answer in memory; an edit here or in another process shows."""
    client = make_client(KB_DEMO=False, KB_SWEEP_INTERVAL_SECONDS=3600)  # the test runs the sweep's check itself
    runtime = client.app.state.runtime
    created = client.post(
        "/api/knowledge", json={"answer": "Yes, we sell shampoo.", "questions": ["do you sell shampoo"]}
    ).json()
    question = "do you sell conditioner"
    vectors = embedder.embed([question])

    def guard() -> str | None:
        decision = runtime.matcher.match(vectors, [question])[0]
        assert decision.best.knowledge_id == created["id"]
        return decision.guard

    assert guard() == "different named thing"  # a product the entry never mentions
    assert runtime.kb.mirror.entry_texts(created["id"]) == (["do you sell shampoo"], "Yes, we sell shampoo.")
    client.patch(f"/api/knowledge/{created['id']}", json={"answer": "Yes, shampoo and conditioner."})
    assert guard() is None  # edited here: seen at once

    with runtime.store.write() as tx:  # another process (the CLI, say) puts the old answer back
        tx.execute("UPDATE knowledge_entries SET answer = 'Yes, we sell shampoo.' WHERE id = ?", (created["id"],))
        runtime.store.bump_knowledge_version(tx, created["id"])
    assert guard() is None  # not seen yet...
    runtime.kb.sync_if_changed_elsewhere()  # ...until the sweep's check for other processes' writes
    assert guard() == "different named thing"
    client.delete(f"/api/knowledge/{created['id']}")
    assert runtime.kb.mirror.entry_texts(created["id"]) is None

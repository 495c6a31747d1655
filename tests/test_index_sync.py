"""The sweep keeps the index equal to the DB: own writes cost nothing to check, other processes' writes land."""

from __future__ import annotations

from kb_service.knowledge.entries import KnowledgeBase
from kb_service.storage.store import Store
from tests.support import wait_for


def test_own_writes_are_recognised_and_other_writers_are_caught_up(make_client, data_dir, embedder):
    client = make_client()
    kb = client.app.state.runtime.kb
    created = client.post("/api/knowledge", json={"answer": "Yes, we do nails.", "questions": ["do you do nails?"]})
    assert created.status_code == 201
    # The service's own write: recognised by version bookkeeping, no id comparison needed.
    wait_for(lambda: kb._synced_version == kb.store.knowledge_version(), what="own write acknowledged")
    assert kb._own_versions == set() or min(kb._own_versions) > kb._synced_version

    # Another process (the CLI) writes to the same database: the sweep adds its phrasings to the index.
    other = KnowledgeBase(Store(data_dir / "frontdesk.db"), embedder)
    [knowledge_id] = other.import_entries([("We close at 6pm on Saturdays.", ["when do you close on saturday?"])])
    other.store.close()
    wait_for(
        lambda: kb.index.ids() == {r["id"] for r in kb.store.query("SELECT id FROM phrasings")},
        what="index caught up with the other writer",
    )
    answer = client.post("/api/ask", json={"question": "when do you close on saturday?"}).json()
    assert answer["outcome"] == "answered" and answer["knowledge_id"] == knowledge_id

    # And a delete by the other writer disappears from the index too.
    other = KnowledgeBase(Store(data_dir / "frontdesk.db"), embedder)
    other.delete(knowledge_id)
    other.store.close()
    wait_for(
        lambda: kb.index.ids() == {r["id"] for r in kb.store.query("SELECT id FROM phrasings")},
        what="index dropped the deleted phrasing",
    )
    assert (
        client.post("/api/ask", json={"question": "when do you close on saturday?"}).json()["knowledge_id"]
        != knowledge_id
    )

"""The sweep keeps the index equal to the DB: own writes are in the index at once, other processes' writes land."""

from __future__ import annotations

from kb_service.knowledge.entries import KnowledgeBase
from kb_service.storage.sqlite import SqliteStore
from kb_service.storage.store import Store
from tests.support import wait_for


def phrasing_ids(store: Store) -> set[int]:
    return {r["id"] for r in store.query("SELECT id FROM phrasings")}


def test_own_writes_need_no_catching_up_and_other_writers_are_caught_up(make_client, data_dir, embedder):
    client = make_client(KB_SWEEP_INTERVAL_SECONDS=3600)  # the sweeper is parked: the test runs its check
    kb = client.app.state.runtime.kb

    def other_process() -> KnowledgeBase:  # the CLI, say: its own connection and its own index
        return KnowledgeBase(SqliteStore(data_dir / "frontdesk.db"), embedder)

    created = client.post("/api/knowledge", json={"answer": "Yes, we do nails.", "questions": ["do you do nails?"]})
    assert created.status_code == 201
    assert kb.index.ids() == phrasing_ids(kb.store)  # the service's own write: in the index before the reply
    assert kb.sync_if_changed_elsewhere() == 0

    other = other_process()
    [knowledge_id] = other.import_entries([("We close at 6pm on Saturdays.", ["when do you close on saturday?"])])
    other.store.close()
    # An own write after the other one must not hide it from the check.
    questions = ["do you do nails?", "can I get my nails done?"]
    assert client.patch(f"/api/knowledge/{created.json()['id']}", json={"questions": questions}).status_code == 200
    assert kb.index.ids() != phrasing_ids(kb.store)
    assert kb.sync_if_changed_elsewhere() == 1  # the other writer's one phrasing
    assert kb.index.ids() == phrasing_ids(kb.store)
    answer = client.post("/api/ask", json={"question": "when do you close on saturday?"}).json()
    assert answer["outcome"] == "answered" and answer["knowledge_id"] == knowledge_id

    # And a delete by the other writer disappears from the index too.
    other = other_process()
    other.delete(knowledge_id)
    other.store.close()
    assert kb.sync_if_changed_elsewhere() == 1
    assert kb.index.ids() == phrasing_ids(kb.store)
    after = client.post("/api/ask", json={"question": "when do you close on saturday?"}).json()
    assert after["knowledge_id"] != knowledge_id


def test_the_running_sweep_catches_up_with_another_writer(make_client, data_dir, embedder):
    client = make_client()  # the sweeper runs every 0.1 s
    kb = client.app.state.runtime.kb
    other = KnowledgeBase(SqliteStore(data_dir / "frontdesk.db"), embedder)
    [knowledge_id] = other.import_entries([("We close at 6pm on Saturdays.", ["when do you close on saturday?"])])
    other.store.close()
    wait_for(lambda: kb.index.ids() == phrasing_ids(kb.store), what="index caught up with the other writer")
    answer = client.post("/api/ask", json={"question": "when do you close on saturday?"}).json()
    assert answer["outcome"] == "answered" and answer["knowledge_id"] == knowledge_id

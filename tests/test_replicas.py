"""Two replicas: two `frontdesk serve` processes on one PostgreSQL database, each with its own index.

Each test gets a fresh database, migrated with `frontdesk migrate`, and two fresh processes A and B."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.postgres_support import connect_db
from tests.support import AUTH, TOKEN, Receiver, wait_for
from tests.test_durability import ROOT, ServiceProcess
from tests.test_streams import events_of

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

UNRELATED = [  # unknown to the service and far apart: none joins another's request
    "Can I bring my dog to the appointment?",
    "Do you validate parking at the garage next door?",
    "Is there a discount for nurses and teachers?",
    "Do you sell gift cards online?",
    "Can you dye eyebrows to match my hair colour?",
    "Is the salon wheelchair accessible?",
    "Do you offer keratin treatments for curly hair?",
    "Can I pay with cryptocurrency?",
    "Do you have a children's play corner?",
    "Are your scissors sterilised between clients?",
]


def frontdesk(*args: str, database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "KB_DATABASE_URL": database_url, "KB_SUPERVISOR_TOKEN": TOKEN}
    return subprocess.run(
        [sys.executable, "-m", "kb_service", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


class Replicas:
    def __init__(self, tmp_path, database_url: str, **env: str):
        self.database_url = database_url
        # The default sweep (1 s): a replica's poll is as slow as in production, so the listener has to work.
        env = {"KB_DATABASE_URL": database_url, "KB_DEMO": "false", "KB_SWEEP_INTERVAL_SECONDS": "1", **env}
        self.a = ServiceProcess(tmp_path / "a", **env)
        self.b = ServiceProcess(tmp_path / "b", **env)

    def __enter__(self) -> Replicas:
        starting = [threading.Thread(target=replica.start) for replica in (self.a, self.b)]
        for thread in starting:
            thread.start()
        for thread in starting:
            thread.join()
        assert self.a.proc.poll() is None and self.b.proc.poll() is None
        return self

    def __exit__(self, *exc) -> None:
        self.a.stop()
        self.b.stop()

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        with connect_db(None, self.database_url) as db:
            return [tuple(r) for r in db.execute(sql, params).fetchall()]


@pytest.fixture
def migrated(postgres) -> str:
    url = postgres.fresh_database()
    done = frontdesk("migrate", database_url=url)
    assert done.returncode == 0, done.stderr
    assert "applied" in done.stdout
    return url


def http(replica: ServiceProcess) -> httpx.Client:
    return httpx.Client(base_url=replica.url, headers=AUTH, timeout=30)


def test_serve_refuses_an_unmigrated_database_and_migrate_fixes_it(postgres):
    url = postgres.fresh_database()
    refused = frontdesk("serve", "--port", "1", database_url=url)
    assert refused.returncode == 1
    assert "not migrated" in refused.stderr and "frontdesk migrate" in refused.stderr
    assert "Traceback" not in refused.stderr
    stats = frontdesk("stats", database_url=url)  # every command that reads it says the same
    assert stats.returncode == 1 and "frontdesk migrate" in stats.stderr and "Traceback" not in stats.stderr
    first, again = frontdesk("migrate", database_url=url), frontdesk("migrate", database_url=url)
    assert first.returncode == again.returncode == 0
    assert "applied" in first.stdout and "nothing to apply" in again.stdout


UNKNOWN_QUESTIONS = [
    "Do you offer scalp treatments for dry skin?",
    "Do you sell hair vitamins?",
    "Is there wheelchair access?",
    "Can I bring my own music?",
    "Do you have a loyalty card?",
]


def test_a_resolve_on_a_is_answered_by_an_immediate_ask_on_b(tmp_path, migrated):
    with Replicas(tmp_path, migrated) as r, http(r.a) as a, http(r.b) as b:
        for n, question in enumerate(UNKNOWN_QUESTIONS):
            asked = a.post("/api/ask", json={"question": question}).json()
            assert asked["outcome"] == "escalated"
            [pending] = a.get("/api/help-requests", params={"status": "pending"}).json()["items"]
            answer = f"Yes, treatment {n} costs ${40 + n}."
            assert a.post(f"/api/help-requests/{pending['id']}/resolve", json={"answer": answer}).status_code == 200
            on_b = b.post("/api/ask", json={"question": question}).json()  # no wait: read-your-writes
            assert on_b["outcome"] == "answered" and on_b["answer"] == answer


def test_fifty_resolves_split_across_a_and_b_give_one_200(tmp_path, migrated):
    with Replicas(tmp_path, migrated) as r, http(r.a) as a, http(r.b) as b:
        a.post("/api/ask", json={"question": "Do you do bridal makeup trials?"})
        [pending] = b.get("/api/help-requests", params={"status": "pending"}).json()["items"]
        barrier = threading.Barrier(50)

        def resolve(n: int) -> httpx.Response:
            barrier.wait(timeout=30)
            return (a if n % 2 else b).post(
                f"/api/help-requests/{pending['id']}/resolve", json={"answer": f"Yes ({n})"}
            )

        with ThreadPoolExecutor(50) as pool:
            statuses = sorted(response.status_code for response in pool.map(resolve, range(50)))
    assert statuses == [200] + [409] * 49
    assert r.rows("SELECT COUNT(*) FROM knowledge_entries") == [(1,)]
    assert r.rows("SELECT COUNT(*) FROM outbox WHERE event_type = 'help_request.resolved'") == [(0,)]  # no callers


def test_the_same_new_question_on_a_and_b_at_once_makes_one_help_request(tmp_path, migrated):
    questions = UNRELATED
    with Replicas(tmp_path, migrated) as r, http(r.a) as a, http(r.b) as b:
        for question in questions:
            barrier = threading.Barrier(2)

            def ask(client: httpx.Client, q: str = question) -> dict:
                barrier.wait(timeout=30)
                return client.post("/api/ask", json={"question": q}).json()

            with ThreadPoolExecutor(2) as pool:
                outcomes = [body["outcome"] for body in pool.map(ask, (a, b))]
            assert outcomes == ["escalated", "escalated"]
        pending = a.get("/api/help-requests", params={"status": "pending", "limit": 100}).json()["items"]
        created = "SELECT status FROM outbox WHERE event_type = 'help_request.created'"
        wait_for(lambda: r.rows(created) == [("delivered",)] * len(questions), what="the notifications")
    assert sorted(p["question"] for p in pending) == sorted(questions)
    assert all(len(p["callers"]) == 2 for p in pending)
    # One "I need help" notification per request, printed by one replica only.
    printed = [line for line in (r.a.log_text() + r.b.log_text()).splitlines() if "I need help answering" in line]
    assert len(printed) == len(questions)


def test_the_same_idempotency_key_on_a_and_b_at_once_has_one_effect(tmp_path, migrated):
    with Replicas(tmp_path, migrated) as r, http(r.a) as a, http(r.b) as b:
        for n in range(5):
            barrier = threading.Barrier(2)
            body = {"question": f"Is parking free on Sundays, lot {n}?", "caller": {"phone": "555-010-7777"}}

            def ask(client: httpx.Client, body: dict = body, key: str = f"key-{n}") -> httpx.Response:
                barrier.wait(timeout=30)
                return client.post("/api/ask", json=body, headers={"Idempotency-Key": key})

            with ThreadPoolExecutor(2) as pool:
                responses = list(pool.map(ask, (a, b)))
            assert [x.status_code for x in responses] == [200, 200]
            assert responses[0].json() == responses[1].json()
    assert r.rows("SELECT COUNT(*) FROM ask_log") == [(5,)]
    assert r.rows("SELECT COUNT(*) FROM help_request_callers") == [(5,)]


def test_with_a_slow_receiver_each_webhook_id_arrives_once(tmp_path, migrated):
    with Receiver(delay=0.3) as receiver:
        with Replicas(tmp_path, migrated, KB_SUPERVISOR_WEBHOOK_URL=receiver.url) as r, http(r.a) as a, http(r.b) as b:
            for n, question in enumerate(UNRELATED):
                assert (a if n % 2 else b).post("/api/ask", json={"question": question}).json()[
                    "outcome"
                ] == "escalated"
            wait_for(lambda: len(receiver.requests) >= 10, timeout=60, what="ten webhooks")
            # Once every row is marked delivered no replica can claim one again: a duplicate would have come by now.
            delivered = "SELECT COUNT(*) FROM outbox WHERE status != 'delivered'"
            wait_for(lambda: r.rows(delivered) == [(0,)], timeout=30, what="every outbox row marked delivered")
    ids = [request["headers"]["webhook-id"] for request in receiver.requests]
    assert len(ids) == len(set(ids)) == 10


def test_kill_9_of_a_mid_delivery_then_b_delivers_after_the_lease(tmp_path, migrated):
    with Receiver(delay=4.0) as receiver:
        env = {"KB_SUPERVISOR_WEBHOOK_URL": receiver.url, "KB_WEBHOOK_TIMEOUT_SECONDS": "5"}
        with Replicas(tmp_path, migrated, **env) as r, http(r.a) as a:
            r.b.kill9()  # only A may claim it first
            a.post("/api/ask", json={"question": "Do you have a loyalty card?"})
            wait_for(lambda: receiver.requests, timeout=30, what="A's delivery to start")
            r.a.kill9()  # mid-delivery: the receiver has not answered yet
            killed_at = time.monotonic()
            [(lease_until,)] = r.rows("SELECT lease_until FROM outbox WHERE channel = 'webhook'")
            assert lease_until is not None
            receiver.delay = 0.0
            r.b.start()
            wait_for(lambda: len(receiver.requests) >= 2, timeout=60, what="B's delivery after the lease")
            assert time.monotonic() - killed_at >= 5  # not before the lease ended
            wait_for(lambda: r.rows("SELECT status FROM outbox WHERE channel = 'webhook'") == [("delivered",)])
    ids = [request["headers"]["webhook-id"] for request in receiver.requests]
    assert len(ids) == 2 and ids[0] == ids[1]  # the same event, the same webhook-id


def test_a_follow_up_reaches_a_stream_on_b_from_a_resolve_on_a_and_resumes_anywhere(tmp_path, migrated):
    with Replicas(tmp_path, migrated) as r, http(r.a) as a, http(r.b) as b:
        session = b.post("/api/sessions").json()
        mine = {"X-Session-Token": session["session_token"]}
        url = f"/api/sessions/{session['session_id']}/events"
        for question in ("Do you braid hair?", "Do you sell wigs made of real hair?"):
            b.post("/api/ask", json={"question": question, "session_id": session["session_id"]}, headers=mine)
        pending = a.get("/api/help-requests", params={"status": "pending"}).json()["items"]
        with b.stream("GET", url, headers=mine) as stream:
            assert stream.status_code == 200
            started = time.monotonic()
            a.post(f"/api/help-requests/{pending[0]['id']}/resolve", json={"answer": "Yes, from $80."})
            (first,) = events_of(stream.iter_lines(), 1)
            took = time.monotonic() - started
        assert json.loads(first["data"])["answer"] == "Yes, from $80." and took < 2
        a.post(f"/api/help-requests/{pending[1]['id']}/resolve", json={"answer": "No, only synthetic."})
        with a.stream("GET", url, headers={**mine, "Last-Event-ID": first["id"]}) as resumed:  # now on A
            (second,) = events_of(resumed.iter_lines(), 1)
    assert json.loads(second["data"])["answer"] == "No, only synthetic."
    assert int(second["id"]) > int(first["id"])


def test_a_replica_whose_listener_is_cut_still_converges_within_a_second(tmp_path, migrated, postgres):
    listeners = "FROM pg_stat_activity WHERE application_name = 'frontdesk-listener' AND datname = current_database()"
    with Replicas(tmp_path, migrated) as r, http(r.a) as a, http(r.b) as b:
        for n in range(3):
            wait_for(lambda: postgres.execute(migrated, f"SELECT COUNT(*) {listeners}") == [(2,)], what="listeners")
            assert len(postgres.execute(migrated, f"SELECT pg_terminate_backend(pid) {listeners}")) == 2
            before = b.get("/healthz").json()["index_size"]
            created = a.post("/api/knowledge", json={"answer": f"Answer {n}", "questions": [f"Question {n}?"]})
            assert created.status_code == 201
            started = time.monotonic()
            wait_for(lambda: b.get("/healthz").json()["index_size"] == before + 1, timeout=5, interval=0.02)
            assert time.monotonic() - started < 1.5


def test_a_postgresql_restart_gives_503_with_retry_after_and_loses_nothing_acknowledged(tmp_path, migrated, postgres):
    acknowledged: list[str] = []
    statuses: list[int] = []
    stop = threading.Event()
    with Replicas(tmp_path, migrated) as r:

        def asker(replica: ServiceProcess, name: str) -> None:
            with http(replica) as client:
                n = 0
                while not stop.is_set():
                    n += 1
                    question = f"Question {n} from {name} about opening hours on holiday {n}?"
                    response = client.post("/api/ask", json={"question": question})
                    statuses.append(response.status_code)
                    if response.status_code == 200:
                        acknowledged.append(question)
                    elif response.status_code == 503:
                        assert int(response.headers["Retry-After"]) >= 1
                        time.sleep(0.1)  # as a client honouring Retry-After would, briefly

        threads = [threading.Thread(target=asker, args=(x, name)) for x, name in ((r.a, "a"), (r.b, "b"))]
        for thread in threads:
            thread.start()
        wait_for(lambda: len(acknowledged) >= 4, timeout=60)
        postgres.restart(down_seconds=3)
        wait_for(lambda: statuses[-4:] == [200] * 4, timeout=60, what="asks to succeed again")
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        logged = {row[0] for row in r.rows("SELECT question FROM ask_log")}
    assert 503 in statuses and set(statuses) <= {200, 503}
    assert set(acknowledged) <= logged

"""Replicas on PostgreSQL: scaling, the backend's cost, and learning across replicas, side by side in one run.

.venv/bin/python -m bench.replicas --clinc150 PATH [--phrasings 10000] [--seconds 60] [--rounds 3]

Three services over the same knowledge base: one on SQLite pinned to core 0, and replicas A (core 0) and B
(core 1) on one throwaway PostgreSQL cluster (started here, unpinned, as is wrk; reached by its Unix socket). Each round, in turn: wrk with 32
clients on the SQLite service; wrk with 32 clients on A alone; two wrk with 16 clients each on A and B at once.
So "2 replicas ÷ 1 replica on 1 core" and "PostgreSQL ÷ SQLite" are measured under the same load generator and
the same machine load. Then learn-to-answer across replicas: a resolve's 200 on A until a paraphrase is
answered on B (an honest caller's yes when B checks first).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench import common
from bench.learn_to_answer import PAIRS
from bench.throughput import wrk
from tests.postgres_support import PostgresCluster


def learn_across(a: str, b: str) -> tuple[list[float], dict[str, int]]:
    """Seconds from each resolve's 200 on A to its paraphrase answered on B, and how many pairs were skipped
    (the question was not escalated) or never answered on B within 10 s, and of those, how many A (which learned
    the answer) does not answer either: the matcher's outcome, not replication's."""
    auth = {"Authorization": f"Bearer {common.TOKEN}"}
    timings, missed = [], {"not escalated": 0, "not answered in 10 s": 0, "of which A does not answer either": 0}
    with httpx.Client(base_url=a, timeout=30, headers=auth) as on_a, httpx.Client(base_url=b, headers=auth) as on_b:
        for question, paraphrase in PAIRS:
            ask = on_a.post("/api/ask", json={"question": question}).json()
            if ask["outcome"] != "escalated":
                missed["not escalated"] += 1
                continue
            pending = on_a.get("/api/help-requests", params={"status": "pending", "limit": 200}).json()["items"]
            request = next(r for r in pending if ask["reference"] in [c["reference"] for c in r["callers"]])
            answer = f"Yes: {question}"
            learned = on_a.post(f"/api/help-requests/{request['id']}/resolve", json={"answer": answer}).json()
            resolved = time.perf_counter()
            while time.perf_counter() < resolved + 10:  # bounded: gives up after 10 s
                reply = on_b.post("/api/ask", json={"question": paraphrase}).json()
                if reply["outcome"] == "confirm":
                    yes = reply["knowledge_id"] == learned["knowledge_id"]
                    reply = on_b.post(f"/api/confirmations/{reply['confirmation_id']}", json={"confirmed": yes}).json()
                if reply["outcome"] == "answered" and reply["answer"] == answer:
                    timings.append(time.perf_counter() - resolved)
                    break
            else:
                missed["not answered in 10 s"] += 1
                on_learner = on_a.post("/api/ask", json={"question": paraphrase}).json()
                offered = on_learner["outcome"] in ("answered", "confirm")
                missed["of which A does not answer either"] += not (
                    offered and on_learner["knowledge_id"] == learned["knowledge_id"]
                )
    return timings, missed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phrasings", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60, help="time under load per configuration, all rounds")
    parser.add_argument("--rounds", type=int, default=3)
    common.add_clinc150_option(parser)
    args = parser.parse_args()
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        raise SystemExit("bench.replicas needs wrk and taskset: run `make bench-replicas` (it installs wrk)")
    clinc150 = common.load_clinc150(args.clinc150)
    embedder = common.make_embedder()
    texts = common.phrasing_texts(clinc150, args.phrasings)
    vectors = common.embed_cached(embedder, texts, "phrasings")
    queries = common.query_texts(clinc150, 4500)
    window = args.seconds / args.rounds
    served = {"sqlite, 1 replica on core 0": 0, "postgresql, 1 replica on core 0": 0, "postgresql, 2 replicas": 0}
    load_before = common.machine()["load_average"]
    cluster = PostgresCluster().start()
    try:
        url = cluster.fresh_database(socket=True)
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            bodies = root / "bodies.txt"
            bodies.write_text("".join(json.dumps({"question": q}) + "\n" for q in queries))
            common.build_kb(root / "sqlite", texts, vectors)
            common.build_kb(root / "pg", texts, vectors, database_url=url)
            with (
                common.Service(root / "sqlite", cpus="0") as lite,
                common.Service(root / "a", cpus="0", KB_DATABASE_URL=url) as a,
                common.Service(root / "b", cpus="1", KB_DATABASE_URL=url) as b,
            ):
                for service in (lite, a, b):
                    wrk(service.url, args.clients, 2, bodies)  # warm-up
                for _ in range(args.rounds):
                    served["sqlite, 1 replica on core 0"] += wrk(lite.url, args.clients, window, bodies)["requests"]
                    served["postgresql, 1 replica on core 0"] += wrk(a.url, args.clients, window, bodies)["requests"]
                    with ThreadPoolExecutor(2) as pool:
                        runs = list(pool.map(lambda s: wrk(s.url, args.clients // 2, window, bodies), (a, b)))
                    served["postgresql, 2 replicas"] += sum(r["requests"] for r in runs)
                timings, missed = learn_across(a.url, b.url)
    finally:
        cluster.destroy()
    rate = {name: n / args.seconds for name, n in served.items()}
    one_pg, one_lite = rate["postgresql, 1 replica on core 0"], rate["sqlite, 1 replica on core 0"]
    rows = [
        (
            "asks/s, 2 replicas (cores 0, 1) vs 1 replica (core 0), PostgreSQL",
            rate["postgresql, 2 replicas"],
            one_pg,
            "/s",
        ),
        ("asks/s, 1 replica on PostgreSQL vs on SQLite (core 0)", one_pg, one_lite, "/s"),
        ("resolve 200 on A -> paraphrase answered on B, p50", common.pct(timings, 50), None, "ms"),
        ("resolve 200 on A -> paraphrase answered on B, max", common.pct(timings, 100), None, "ms"),
    ]
    common.report(
        "replicas",
        f".venv/bin/python -m bench.replicas --seconds {args.seconds:g} --rounds {args.rounds}",
        rows,
        {
            "asks_per_s": rate,
            "learned_answered": len(timings),
            "learned_missed": missed,
            "load_average_before": load_before,
            "load": "wrk -t1, kept-alive connections; PostgreSQL and wrk unpinned on the same 2 cores",
        },
    )


if __name__ == "__main__":
    main()

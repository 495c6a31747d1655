"""What SQLAlchemy Core would add to an ask's SQL, against the store's own sqlite3 calls, paired in one run.

.venv/bin/python -m bench.storage_layer [--batches 400]   (needs `pip install sqlalchemy`, not a dependency)

One batch is what the ask pipeline commits for 32 answered asks: one transaction and, per ask, a savepoint, the
entry's answer, its hit count, the ask-log row and the release. Both sides run the same statements on copies of
one SQLite file with the service's pragmas, alternating batch by batch.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, event, text

from kb_service.storage.sqlite import SqliteStore
from kb_service.storage.store import Store, iso, now

ASKS_PER_BATCH = 32
INSERT_LOG = (
    "INSERT INTO ask_log (asked_at, question, outcome, best_score, margin, confidence, knowledge_id,"
    " help_request_id, session_id, confirmation_id) VALUES ({})"
)


def ours(store: Store, knowledge_id: int) -> None:
    stamp = iso(now())
    with store.write() as tx:
        for n in range(ASKS_PER_BATCH):
            tx.execute("SAVEPOINT ask")
            tx.execute("SELECT answer FROM knowledge_entries WHERE id = ?", (knowledge_id,)).fetchone()
            tx.execute(
                "UPDATE knowledge_entries SET hit_count = hit_count + 1, last_used_at = ? WHERE id = ?",
                (stamp, knowledge_id),
            )
            tx.execute(
                INSERT_LOG.format(", ".join("?" * 10)),
                (stamp, f"question {n}", "answered", 0.9, 0.1, 0.97, knowledge_id, None, None, None),
            )
            tx.execute("RELEASE ask")


# Built once, as a port would keep them, so SQLAlchemy's compiled cache serves every call.
NAMES = "asked_at question outcome best_score margin confidence knowledge_id help_request_id session_id c".split()
SA_INSERT = text(INSERT_LOG.format(", ".join(f":{n}" for n in NAMES)))
SA_ANSWER = text("SELECT answer FROM knowledge_entries WHERE id = :id")
SA_HIT = text("UPDATE knowledge_entries SET hit_count = hit_count + 1, last_used_at = :at WHERE id = :id")


def alchemy(engine, knowledge_id: int) -> None:
    stamp = iso(now())
    with engine.begin() as conn:
        for n in range(ASKS_PER_BATCH):
            savepoint = conn.begin_nested()
            conn.execute(SA_ANSWER, {"id": knowledge_id}).fetchone()
            conn.execute(SA_HIT, {"at": stamp, "id": knowledge_id})
            values = [stamp, f"question {n}", "answered", 0.9, 0.1, 0.97, knowledge_id, None, None, None]
            conn.execute(SA_INSERT, dict(zip(NAMES, values, strict=True)))
            savepoint.commit()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "ours.db")
        other = SqliteStore(Path(tmp) / "alchemy.db")
        for s in (store, other):
            with s.write() as tx:
                tx.execute("INSERT INTO knowledge_entries (answer, created_at, updated_at) VALUES ('a', 'x', 'x')")
        other.close()
        engine = create_engine(f"sqlite:///{Path(tmp) / 'alchemy.db'}")

        @event.listens_for(engine, "connect")
        def pragmas(conn, _):  # SQLAlchemy's documented recipe for explicit SQLite transactions
            conn.isolation_level = None
            for pragma in ("busy_timeout = 15000", "journal_mode = WAL", "synchronous = FULL", "foreign_keys = ON"):
                conn.execute(f"PRAGMA {pragma}")

        @event.listens_for(engine, "begin")
        def begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        times = {"sqlite3 (the store)": [], "SQLAlchemy Core": []}
        for _ in range(args.batches):
            for name, run in (
                ("sqlite3 (the store)", lambda: ours(store, 1)),
                ("SQLAlchemy Core", lambda: alchemy(engine, 1)),
            ):
                start = time.perf_counter()
                run()
                times[name].append((time.perf_counter() - start) / ASKS_PER_BATCH)
        store.close()
    for name, values in times.items():
        print(f"{name}: {statistics.median(values) * 1e6:.1f} µs per ask (median over {args.batches} batches)")
    extra = statistics.median(times["SQLAlchemy Core"]) - statistics.median(times["sqlite3 (the store)"])
    print(f"SQLAlchemy adds {extra * 1e6:.1f} µs per ask")


if __name__ == "__main__":
    main()

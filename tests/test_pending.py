"""The in-memory pending-question matrix always agrees with a fresh read of SQLite, whatever happened since."""

from __future__ import annotations

import random

import numpy as np

from kb_service.desk.pending import PendingQuestions
from kb_service.embedding import from_blob, to_blob
from kb_service.storage.sqlite import SqliteStore
from kb_service.storage.store import iso, now

DIM = 8


class Rollback(Exception):
    pass


def brute_force(tx, vector):
    rows = tx.execute("SELECT id, embedding FROM help_requests WHERE status = 'pending' ORDER BY id").fetchall()
    if not rows:
        return None
    scores = np.stack([from_blob(r["embedding"]) for r in rows]) @ vector
    return int(rows[int(np.argmax(scores))]["id"]), float(np.max(scores))


def unit(rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def insert(tx, vector) -> int:
    stamp = iso(now())
    return tx.execute(
        "INSERT INTO help_requests (question, embedding, status, created_at, deadline_at)"
        " VALUES ('q', ?, 'pending', ?, ?)",
        (to_blob(vector), stamp, stamp),
    ).lastrowid


def test_random_escalations_resolves_and_rollbacks_match_a_fresh_read(tmp_path):
    store = SqliteStore(tmp_path / "frontdesk.db")
    pending = PendingQuestions(DIM)
    rng, choose = np.random.default_rng(7), random.Random(7)
    for step in range(600):
        op = choose.choice(
            ["escalate", "escalate", "escalate", "resolve", "rollback", "batch", "savepoint", "elsewhere"]
        )
        try:
            with store.write() as tx:
                if op in ("resolve", "elsewhere"):
                    ids = [r[0] for r in tx.execute("SELECT id FROM help_requests WHERE status = 'pending'")]
                    if ids:
                        tx.execute(
                            "UPDATE help_requests SET status = ? WHERE id = ?",
                            (choose.choice(["resolved", "unresolved"]), choose.choice(ids)),
                        )
                    if op == "elsewhere":  # another writer: one leaves the queue and one joins, unseen
                        insert(tx, unit(rng))
                else:
                    fail_at = choose.randrange(3) if op == "savepoint" else None
                    for n in range(1 if op in ("escalate", "rollback") else 3):  # a batch: one transaction
                        # A batch's asks each run in a savepoint; one that fails is rolled back alone.
                        failing = n == fail_at
                        tx.execute("SAVEPOINT ask")
                        query = unit(rng)
                        assert pending.nearest(tx, query) == brute_force(tx, query), f"step {step}"
                        vector = unit(rng)
                        opened = insert(tx, vector)
                        if choose.random() < 0.5:  # as HelpDesk.escalate does; else the next check reads it
                            pending.opened(opened, vector)
                        if failing:
                            tx.execute("ROLLBACK TO ask")
                            pending.forget()  # as Receptionist.respond does
                        tx.execute("RELEASE ask")
                    if op == "rollback":
                        raise Rollback
        except Rollback:
            pending.forget()  # as the transaction's owner does (Receptionist.respond)
        if choose.random() < 0.4:  # not after every step: a later step must find what this one left behind
            continue
        with store.write() as tx:
            query = unit(rng)
            expected = brute_force(tx, query)
            got = pending.nearest(tx, query)
            assert (got is None) == (expected is None), f"step {step}"
            if got is not None:
                assert got[0] == expected[0] and abs(got[1] - expected[1]) < 1e-6, f"step {step}"
    assert store.scalar("SELECT COUNT(*) FROM help_requests WHERE status = 'pending'") > 20  # it really grew

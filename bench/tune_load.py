"""Asks per second while the service tunes in the background, against the same service idle, in one run.

    .venv/bin/python -m bench.tune_load KNOWLEDGE.jsonl QUERIES.jsonl [--rounds 3] [--seconds 8] [--clients 8]

The knowledge base (JSON Lines of {"answer", "questions"}) is written to a fresh data dir; `frontdesk serve` runs
on it with `KB_TUNE_EVERY=25`. Each round: `wrk` for a window with nothing else running, then the stored tune is
deleted (the service then tunes again at its next sweep, as it does after an import) and `wrk` runs for a window
while it tunes. A window counts only if the tune was still running when it ended. Target: ≥ 0.8× (issue 27).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from pathlib import Path

import httpx

from bench import common
from bench.throughput import wrk
from kb_service.matching import evaluation


def tune_report(service: common.Service) -> dict | None:
    headers = {"Authorization": f"Bearer {common.TOKEN}"}
    return httpx.get(service.url + "/api/stats", headers=headers, timeout=30).json().get("tune")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("knowledge", type=Path)
    parser.add_argument("queries", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    data = evaluation.load_jsonl(args.knowledge, args.queries)
    texts = [q for _, qs in data.knowledge for q in qs]
    with tempfile.TemporaryDirectory() as tmp:
        bodies = Path(tmp) / "bodies.txt"
        bodies.write_text("".join(json.dumps({"question": q}) + "\n" for q, _ in data.queries))
        from kb_service.embedding.onnx_backend import OnnxEmbedder

        vectors = OnnxEmbedder().embed(texts)
        common.build_kb(Path(tmp) / "data", texts, vectors, per_entry=len(data.knowledge[0][1]))
        db = Path(tmp) / "data" / "frontdesk.db"
        idle, tuning, tunes = [], [], []
        with common.Service(Path(tmp) / "data", KB_TUNE_EVERY="25") as service:
            deadline = time.monotonic() + 300
            while tune_report(service) is None and time.monotonic() < deadline:  # the first tune, at start
                time.sleep(0.5)
            wrk(service.url, args.clients, 2, bodies)  # warm-up
            for _ in range(args.rounds):
                idle.append(wrk(service.url, args.clients, args.seconds, bodies)["requests"] / args.seconds)
                before = tune_report(service)
                with sqlite3.connect(db) as conn:
                    conn.execute("DELETE FROM meta WHERE key = 'tune'")
                run = wrk(service.url, args.clients, args.seconds, bodies)
                after = tune_report(service)
                still_tuning = after is None or after == before
                while tune_report(service) in (None, before) and time.monotonic() < deadline + 600:
                    time.sleep(0.5)
                tunes.append(tune_report(service)["seconds"])
                if still_tuning:
                    tuning.append(run["requests"] / args.seconds)
    rate_idle = sum(idle) / len(idle)
    rate_tuning = sum(tuning) / max(len(tuning), 1)
    common.report(
        "tune_load",
        f".venv/bin/python -m bench.tune_load {args.knowledge.name} {args.queries.name} --clients {args.clients}",
        [(f"asks/s while tuning vs idle, {args.clients} clients", rate_tuning, rate_idle, "/s")],
        {"idle": idle, "tuning": tuning, "tune_seconds": tunes, "phrasings": len(texts)},
    )


if __name__ == "__main__":
    main()

"""The product's tune (`matching/tuning.py`, as `frontdesk tune` and the service run it) on the
small-knowledge-base dev cases (`make_small_kb.py` of the eval data: knowledge.jsonl + queries.jsonl per dir).

Each case: import the knowledge base, calibrate it as the service does, tune it, then ask every test question
through the live matcher and policy with an honest caller (`evaluation.run_policy`) at the thresholds in force
(`live.thresholds` without traffic: the calibration's, never below the tune's). Nothing comes from the questions.
One JSON line per case and scorer (shipped, then tuned: the shipped scorer where the tune kept it).

    python -m bench.tune_product CASES [--seeds 1 2] [--out runs.jsonl]
    python -m bench.tune_small_kb --report runs.jsonl      (the same report)
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import asdict
from pathlib import Path

from bench.learn_wording import CachedEmbedder
from bench.quality_small_kb import CASE, group_of
from bench.tune_small_kb import report, seed_of
from kb_service.config import DEFAULT_MATCH_THRESHOLD
from kb_service.knowledge.entries import KnowledgeBase
from kb_service.matching import calibration, evaluation, live, tuning
from kb_service.matching.matcher import Matcher
from kb_service.storage.sqlite import SqliteStore

TARGET = 0.95


def run_case(case: Path, embedder) -> list[dict]:
    data = evaluation.load_jsonl(case / "knowledge.jsonl", case / "queries.jsonl")
    in_kb = sum(e is not None for _, e in data.queries)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "kb.db")
        kb = KnowledgeBase(store, embedder)
        ids = kb.import_entries(data.knowledge)
        answer_of = dict(zip(ids, (a for a, _ in data.knowledge)))
        floor = DEFAULT_MATCH_THRESHOLD
        for variant in ("shipped", "tuned"):
            if variant == "tuned":
                tuned, adapter = tuning.tune(kb, TARGET, floor)
                tuning.save(store, tuned, adapter)
                kb.sync_if_changed_elsewhere()
            calibration.save(store, calibration.calibrate(Matcher(kb, 1.0), TARGET, floor))
            threshold, band = live.thresholds(store, floor, TARGET)
            outcomes = evaluation.ask_kb(kb, answer_of, data.queries)
            run = asdict(evaluation.run_policy(outcomes, threshold, band))
            in_scope = [o for o in outcomes if o.expected is not None]
            extra = {} if variant == "shipped" else {"tune": tuned.status, "tune_seconds": tuned.seconds}
            rows.append(
                run
                | extra
                | {
                    "variant": variant,
                    "threshold": threshold,
                    "confirm_start": band,
                    "top1": round(sum(o.got == o.expected for o in in_scope) / max(len(in_scope), 1), 4),
                    "in_kb": in_kb,
                    "questions": len(outcomes),
                    "case": case.name,
                    "group": group_of(case.name),
                    "seed": seed_of(case),
                }
            )
        store.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cases", type=Path)
    parser.add_argument("--seeds", type=int, nargs="*", default=[])
    parser.add_argument("--only", nargs="*", default=[], help="case names containing any of these")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--embeddings", type=Path, help="a pickle of text -> vector, read and extended")
    args = parser.parse_args()
    embedder = CachedEmbedder(args.embeddings)
    done = set()
    if args.out and args.out.exists():
        done = {json.loads(line)["case"] for line in args.out.read_text().splitlines() if line}
    rows = []
    for case in sorted((p for p in args.cases.iterdir() if CASE.match(p.name)), key=seed_of):
        if (args.seeds and seed_of(case) not in args.seeds) or case.name in done:
            continue
        if args.only and not any(word in case.name for word in args.only):
            continue
        new = run_case(case, embedder)
        rows += new
        if args.out:
            with args.out.open("a") as f:
                f.writelines(json.dumps(r) + "\n" for r in new)
        shipped, tuned = new
        print(
            case.name,
            tuned["tune"],
            f"{shipped['coverage']:.3f} -> {tuned['coverage']:.3f}",
            f"precision {shipped['precision']:.3f} -> {tuned['precision']:.3f}",
            f"{tuned['tune_seconds']} s",
            flush=True,
        )
        embedder.save()
    report(rows)


if __name__ == "__main__":
    main()

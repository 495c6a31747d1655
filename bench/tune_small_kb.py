"""Does fitting the embedder to a knowledge base's own phrasings raise coverage at unchanged precision? The
small-knowledge-base cases (`make_small_kb.py` of the eval data: knowledge.jsonl + queries.jsonl per dir), each:

- part of every entry's phrasings is held out from tuning (1 of 3, 3 of 10: HOLD_OUT), the tuner
  (`bench/tuners.py`: a linear adapter on frozen embeddings, or a full fine-tune) learns from the rest;
- the knowledge base holds every phrasing, embedded by the model under test; the product's calibration
  (`calibration.calibrate`) asks only the held-out ones, the others being marked as the product marks phrasings it
  learned from checks (in the index, never asked), since a tuned model flatters the pairs it was trained on;
- every test question is asked in file order through the live matcher and policy with an honest caller
  (`evaluation.ask_all` + `run_policy`), at the calibration's threshold and band. Nothing comes from the questions.

Reported per group (mean and worst seed): the shipped model calibrated as shipped (all phrasings asked), the
shipped model calibrated like the tuned ones (held-out phrasings only), and each tuned model, calibrated on its
held-out phrasings and, for comparison, on all of them (optimistic).

    python -m bench.tune_small_kb CASES [--method adapter|finetune ...] [--seeds 1 2] [--out runs.jsonl]
    python -m bench.tune_small_kb --report runs.jsonl [more.jsonl ...] [--common] [--seeds 1]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

from bench import tune_calibration, tuners
from bench.learn_wording import CachedEmbedder
from bench.quality_small_kb import CASE, group_of
from kb_service.config import DEFAULT_MATCH_THRESHOLD
from kb_service.embedding import Embedder
from kb_service.knowledge.entries import KnowledgeBase
from kb_service.matching import calibration, evaluation
from kb_service.matching.matcher import Matcher
from kb_service.storage.sqlite import SqliteStore
from kb_service.storage.store import iso, now

TARGET = 0.95
HOLD_OUT = 0.3  # of each entry's phrasings, at least one: never trained on, the only ones calibration asks
CROSS_FITTED = "adapter, unknowns cross-fitted"
ROLLED_BACK = "adapter, rolled back where the cross-fitted self-test is below target"
PASS = dict(precision=0.95, wrong_rate=0.02, confirm_rate=0.25)


def split(data: evaluation.EvalSet, seed: str) -> list[list[str]]:
    """Per entry, the phrasings the tuner may train on (the rest are held out)."""
    rng = random.Random(f"hold-out-{seed}")
    trained = []
    for _, questions in data.knowledge:
        held = set(rng.sample(range(len(questions)), max(1, round(HOLD_OUT * len(questions)))))
        trained.append([q for i, q in enumerate(questions) if i not in held])
    return trained


def seed_of(case: Path) -> int:
    match = CASE.match(case.name)
    assert match is not None
    return int(match["seed"])


def calibrate(embedder, data: evaluation.EvalSet, trained: list[list[str]] | None) -> calibration.Calibration:
    """The product's calibration of this knowledge base; `trained` phrasings stay in the index, never asked."""
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "tune.db")
        kb = KnowledgeBase(store, embedder)
        ids = kb.import_entries(data.knowledge)
        if trained is not None:
            marked = {(kid, q) for kid, texts in zip(ids, trained, strict=True) for q in texts}
            rows = store.query("SELECT id, knowledge_id, question, embedding FROM phrasings")
            with store.write() as tx:
                for r in rows:
                    if (r["knowledge_id"], r["question"]) in marked:
                        tx.execute(
                            "INSERT INTO pending_phrasings (knowledge_id, question, embedding, status, created_at,"
                            " phrasing_id) VALUES (?, ?, ?, 'added', ?, ?)",
                            (r["knowledge_id"], r["question"], r["embedding"], iso(now()), r["id"]),
                        )
        try:
            return calibration.calibrate(Matcher(kb, 1.0), TARGET, DEFAULT_MATCH_THRESHOLD)
        finally:
            store.close()


def judge(embedder, data: evaluation.EvalSet, trained: list[list[str]] | None, calibrated: tuple | None = None) -> dict:
    """Calibrate (or take `calibrated`: threshold, band start, status), then ask every question through the live
    policy at that threshold and band."""
    if calibrated is None:
        cal = calibrate(embedder, data, trained)
        calibrated = (cal.threshold, cal.confirm_threshold, cal.status)
    threshold, band, status = calibrated
    outcomes = evaluation.ask_all(embedder, data)
    run = asdict(evaluation.run_policy(outcomes, threshold, band))
    in_scope = [o for o in outcomes if o.expected is not None]
    return run | {
        "threshold": threshold,
        "confirm_start": band,
        "status": status,
        "top1": round(sum(o.got == o.expected for o in in_scope) / max(len(in_scope), 1), 4),
        "in_kb": len(in_scope),
        "questions": len(outcomes),
    }


def run_case(case: Path, base: CachedEmbedder, methods: list[str]) -> list[dict]:
    data = evaluation.load_jsonl(case / "knowledge.jsonl", case / "queries.jsonl")
    trained = split(data, case.name)
    seed = seed_of(case)
    rows = [
        judge(base, data, None) | {"variant": "shipped"},
        judge(base, data, trained) | {"variant": "shipped, calibrated on held-out"},
    ]
    for method in methods:
        started = time.perf_counter()
        embedder: Embedder
        if method == "adapter":
            weight = tuners.train_adapter(base.embed, trained, seed)
            embedder = tuners.AdaptedEmbedder(base, weight)
        else:
            embedder = tuners.TunedEmbedder(tuners.finetune(trained, seed), f"{base.model_name}+tuned")
        embedder.embed([q for _, qs in data.knowledge for q in qs])  # the re-index
        seconds = round(time.perf_counter() - started, 2)
        rows.append(judge(embedder, data, trained) | {"variant": method, "tune_seconds": seconds})
        rows.append(judge(embedder, data, None) | {"variant": f"{method}, calibrated on all (optimistic)"})
        if method == "adapter":
            started = time.perf_counter()
            crossfit = tune_calibration.calibrate(base, weight, data, trained, seed)
            seconds = round(time.perf_counter() - started, 2)
            rows.append(
                judge(embedder, data, trained, crossfit) | {"variant": CROSS_FITTED, "calibration_seconds": seconds}
            )
    group, phrasings = group_of(case.name), sum(len(qs) for qs in trained)
    return [r | {"case": case.name, "group": group, "seed": seed, "trained_phrasings": phrasings} for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cases", type=Path, nargs="?")
    parser.add_argument("--method", nargs="+", choices=["adapter", "finetune"], default=["adapter", "finetune"])
    parser.add_argument("--seeds", type=int, nargs="*", default=[], help="only these seeds")
    parser.add_argument("--only", nargs="*", default=[], help="case names containing any of these")
    parser.add_argument("--out", type=Path, help="one JSON line per set and variant, appended as they come")
    parser.add_argument("--embeddings", type=Path, help="a pickle of text -> shipped vector, read and extended")
    parser.add_argument("--report", type=Path, nargs="+", help="report the runs of earlier --out files")
    parser.add_argument("--common", action="store_true", help="with --report: only the sets every variant ran on")
    args = parser.parse_args()
    if args.report:
        runs = [json.loads(line) for path in args.report for line in path.read_text().splitlines() if line]
        unique = list({(r["case"], r["variant"]): r for r in runs}.values())  # the shipped rows come in every file
        unique = [r for r in unique if not args.seeds or r["seed"] in args.seeds]
        if args.common:
            variants = {r["variant"] for r in unique}
            cases = [
                c
                for c in {r["case"] for r in unique}
                if len({r["variant"] for r in unique if r["case"] == c}) == len(variants)
            ]
            unique = [r for r in unique if r["case"] in cases]
        report(unique)
        return
    if args.cases is None:
        parser.error("give CASES or --report")
    base = CachedEmbedder(args.embeddings)
    cases = sorted((p for p in args.cases.iterdir() if CASE.match(p.name)), key=seed_of)
    rows: list[dict] = []
    for case in cases:
        if args.seeds and seed_of(case) not in args.seeds:
            continue
        if args.only and not any(word in case.name for word in args.only):
            continue
        new = run_case(case, base, args.method)
        rows += new
        if args.out:
            with args.out.open("a") as f:
                f.writelines(json.dumps(r) + "\n" for r in new)
        print(case.name, *(f"{r['variant']}: {r['coverage']:.3f}/{r['precision']:.3f}" for r in new), flush=True)
        base.save()
    report(rows)


def passes(r: dict) -> bool:
    return (
        r["precision"] >= PASS["precision"]
        and r["wrong_rate"] <= PASS["wrong_rate"]
        and r["confirm_rate"] <= PASS["confirm_rate"]
    )


def rolled_back(rows: list[dict]) -> list[dict]:
    """The adapter as a product could ship it: kept only where its cross-fitted self-test reaches the target
    (else the shipped model answers), which decides from the knowledge base alone."""
    shipped = {r["case"]: r for r in rows if r["variant"] == "shipped"}
    return [
        (shipped[r["case"]] if r["status"] == "below_target" else r) | {"variant": ROLLED_BACK}
        for r in rows
        if r["variant"] == CROSS_FITTED and r["case"] in shipped
    ]


def report(rows: list[dict]) -> None:
    print(
        "variant | group | sets | precision mean / worst | pooled coverage (worst seed) / worst set | wrong max"
        " | checks mean / max | top-1 | passing | tuning s mean / max"
    )
    by_variant: dict[str, list[dict]] = defaultdict(list)
    for r in rows + rolled_back(rows):
        by_variant[r["variant"]].append(r)
    for variant, runs in by_variant.items():
        groups: dict[str, list[dict]] = defaultdict(list)
        for r in runs:
            groups[r["group"]].append(r)
        for group, sets in sorted(groups.items()) + [("all", runs)]:
            print(f"{variant} | {group} | {len(sets)} | " + line(sets))


def line(sets: list[dict]) -> str:
    def pooled(chosen: list[dict]) -> float:
        return sum(r["coverage"] * r["in_kb"] for r in chosen) / max(sum(r["in_kb"] for r in chosen), 1)

    seeds = sorted({r["seed"] for r in sets})
    worst_seed = min(pooled([r for r in sets if r["seed"] == s]) for s in seeds)
    mean = lambda key: sum(r[key] for r in sets) / len(sets)  # noqa: E731
    tuned = [r["tune_seconds"] for r in sets if "tune_seconds" in r]
    timing = f"{sum(tuned) / len(tuned):.1f} / {max(tuned):.1f}" if tuned else "–"
    return (
        f"{mean('precision'):.3f} / {min(r['precision'] for r in sets):.3f} | {pooled(sets):.3f} ({worst_seed:.3f})"
        f" / {min(r['coverage'] for r in sets):.3f} | {max(r['wrong_rate'] for r in sets):.1%}"
        f" | {mean('confirm_rate'):.1%} / {max(r['confirm_rate'] for r in sets):.1%} | {mean('top1'):.3f}"
        f" | {sum(passes(r) for r in sets)}/{len(sets)} | {timing}"
    )


if __name__ == "__main__":
    main()

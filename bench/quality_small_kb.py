"""The small-knowledge-base protocol, in process: every case dir under CASES (knowledge.jsonl + queries.jsonl, as
`make_small_kb.py` of the eval data writes them) asked through the live matcher and policy (`evaluation.run_policy`:
answer, confirm with an honest caller, or escalate), then mean and worst seed per group.

    python -m bench.quality_small_kb CASES [--threshold 0.92 [0.94 ...]] [--out results.jsonl]

The threshold is the product's default unless given; nothing here is tuned on the questions it reports."""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

from kb_service.config import DEFAULT_MATCH_THRESHOLD
from kb_service.embedding.onnx_backend import OnnxEmbedder
from kb_service.matching import evaluation

CASE = re.compile(r"^(?P<set>.+)-k(?P<k>\d+)-s(?P<seed>\d+)$")


def group_of(name: str) -> str:
    match = CASE.match(name)
    family = "clinc150" if match["set"].startswith("clinc150") else match["set"]
    return f"{family} k={match['k']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cases", type=Path)
    parser.add_argument("--threshold", type=float, nargs="+", default=[DEFAULT_MATCH_THRESHOLD])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    embedder = OnnxEmbedder()
    runs: dict[float, dict[str, list[dict]]] = {t: defaultdict(list) for t in args.threshold}
    for case in sorted(p for p in args.cases.iterdir() if CASE.match(p.name)):
        data = evaluation.load_jsonl(case / "knowledge.jsonl", case / "queries.jsonl")
        outcomes = evaluation.ask_all(embedder, data)
        for threshold in args.threshold:
            run = asdict(evaluation.run_policy(outcomes, threshold))
            run.update(case=case.name, in_kb=sum(e is not None for _, e in data.queries), questions=len(data.queries))
            runs[threshold][group_of(case.name)].append(run)
            if args.out:
                with args.out.open("a") as f:
                    f.write(json.dumps(run) + "\n")
    for threshold, by_group in runs.items():
        report(threshold, by_group)


def report(threshold: float, runs: dict[str, list[dict]]) -> None:
    print(f"answering threshold {threshold}; precision and wrong rate per set, coverage pooled per group")
    print(
        f"{'group':<14} {'sets':>4} {'prec mean':>9} {'worst':>6} {'coverage':>8} {'worst':>6} "
        f"{'wrong max':>9} {'confirm max':>11} {'passing':>7}"
    )
    pooled_right = pooled_in_kb = 0
    for group, cases in sorted(runs.items()):
        right = sum(r["answered_right"] for r in cases)
        in_kb = sum(r["in_kb"] for r in cases)
        pooled_right, pooled_in_kb = pooled_right + right, pooled_in_kb + in_kb
        passing = sum(r["precision"] >= 0.95 and r["wrong_rate"] <= 0.02 for r in cases)
        print(
            f"{group:<14} {len(cases):>4} {sum(r['precision'] for r in cases) / len(cases):>9.3f}"
            f" {min(r['precision'] for r in cases):>6.3f} {right / in_kb:>8.3f} {min(r['coverage'] for r in cases):>6.3f}"
            f" {max(r['wrong_rate'] for r in cases):>9.3f} {max(r['confirm_rate'] for r in cases):>11.3f}"
            f" {passing:>4}/{len(cases)}"
        )
    print(f"pooled coverage over every set: {pooled_right / max(pooled_in_kb, 1):.3f}")


if __name__ == "__main__":
    main()

"""Learning the caller's confirmed wording, on the small-knowledge-base dev cases: each case's test questions,
shuffled (the files group them by intent), are a stream of calls (one call session and one address each) asked
through the live matcher, with the product's own calibration; a check is answered by an honest caller (yes to the
right entry, no to any other), or with `--careless P` by one who also says yes to a wrong entry with probability
P. Each yes goes through the service's own `PendingPhrasings.learn` (the real tables and write path), and a wording that N agreeing calls
confirmed is added to the index at once; calibration is run again after every RECALIBRATE_EVERY additions.

    python -m bench.learn_wording CASES [--calls 0 1 2 3] [--careless 0.1] [--only hwu64 ...] [--out runs.jsonl]
                                        [--plot docs/learning-curve.png] [--embeddings cache.pkl]

`--calls 0` is the service without learning (wordings kept pending, none added). Reported per group and N: the
coverage of the stream's first and second half, precision, wrong and check rates (mean and worst seed), and the
precision of answers that came through an added phrasing (its nearest phrasing was one)."""

from __future__ import annotations

import argparse
import json
import pickle
import random
import re
import tempfile
from collections import defaultdict, deque
from pathlib import Path

import numpy as np

from bench.quality_small_kb import CASE, group_of
from kb_service.config import DEFAULT_MATCH_THRESHOLD
from kb_service.desk import pending_phrasings
from kb_service.desk.pending_phrasings import PendingPhrasings
from kb_service.embedding.onnx_backend import OnnxEmbedder
from kb_service.knowledge.entries import KnowledgeBase
from kb_service.matching import calibration, evaluation, guard, precision
from kb_service.matching.matcher import MIN_WORDS_TO_ANSWER, Matcher
from kb_service.storage.sqlite import SqliteStore
from kb_service.storage.store import iso, now

RECALIBRATE_EVERY = 5  # added phrasings between two calibrations (the service: after each, at most 10% of a core)
SLICES = 10  # points of the learning curve


class CachedEmbedder:
    """The ONNX embedder, each text embedded once across runs (the cache file is the bench's own)."""

    def __init__(self, path: Path | None):
        self.inner = OnnxEmbedder()
        self.dimension, self.model_name = self.inner.dimension, self.inner.model_name
        self.path = path
        self.memo: dict[str, np.ndarray] = pickle.loads(path.read_bytes()) if path and path.exists() else {}

    def embed(self, texts: list[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self.memo))
        if missing:
            self.memo.update(zip(missing, self.inner.embed(missing), strict=True))
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        return np.stack([self.memo[t] for t in texts]).astype(np.float32)

    def save(self) -> None:
        if self.path:
            self.path.write_bytes(pickle.dumps(self.memo))


def run_case(embedder, data: evaluation.EvalSet, calls: int, careless: float, seed: int) -> dict:
    """One stream through one fresh knowledge base; `calls` = 0: no learning. The case's questions come grouped
    by intent, so the stream is them shuffled (the same order for every N)."""
    rng = random.Random(seed)
    stream = list(data.queries)
    random.Random(f"stream-{seed}").shuffle(stream)
    data = evaluation.EvalSet(data.knowledge, stream)
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "learn.db")
        kb = KnowledgeBase(store, embedder)
        ids = kb.import_entries(data.knowledge)
        answer_of = dict(zip(ids, (a for a, _ in data.knowledge), strict=True))
        matcher = Matcher(kb, threshold=1.0)
        learner = PendingPhrasings(store, kb, calls) if calls else None

        def calibrate() -> tuple[float, float | None]:
            try:
                cal = calibration.calibrate(matcher, 0.95, DEFAULT_MATCH_THRESHOLD)
            except calibration.NotEnoughData:
                return DEFAULT_MATCH_THRESHOLD, None
            return cal.threshold, cal.confirm_threshold

        answer_t, confirm_start = calibrate()
        questions = [q for q, _ in data.queries]
        vectors = embedder.embed(questions)
        recent: deque[float] = deque(maxlen=precision.CONFIRM_WINDOW)
        added: set[int] = set()
        rows, since_calibration = [], 0
        for i, ((question, expected), vector) in enumerate(zip(data.queries, vectors, strict=True)):
            [decision] = matcher.match(vector[None, :], [question])
            confirm_t = precision.confirm_threshold(list(recent), answer_t, confirm_start)
            best = decision.best
            got = answer_of[best.knowledge_id] if best else None
            if got is not None:
                recent.appendleft(decision.confidence)
            outcome, right = "escalated", False
            if best is not None and decision.guard is None and decision.confidence >= confirm_t:
                short = guard.word_count(question) < MIN_WORDS_TO_ANSWER
                if (decision.confidence < answer_t and not decision.near_copy) or short:
                    yes = got == expected or rng.random() < careless
                    outcome, right = ("confirmed", got == expected) if yes else ("declined", False)
                    if yes and learner is not None and learner.learnable(question, f"call-{i}"):
                        with store.write() as tx:
                            learner.learn(tx, best.knowledge_id, question, vector, f"call-{i}", f"ip-{i}", iso(now()))
                        new = {
                            r["phrasing_id"]
                            for r in store.query("SELECT phrasing_id FROM pending_phrasings WHERE status = 'added'")
                        } - added
                        added |= new
                        since_calibration += len(new)
                        if since_calibration >= RECALIBRATE_EVERY:
                            answer_t, confirm_start = calibrate()
                            since_calibration = 0
                else:
                    outcome, right = "answered", got == expected
            via_added = best is not None and best.phrasing_id in added and outcome in ("answered", "confirmed")
            rows.append((expected is not None, outcome, right, via_added))
        wrongly_added = sum(
            1
            for r in store.query("SELECT p.question, p.knowledge_id FROM pending_phrasings p WHERE status = 'added'")
            if dict(data.queries).get(r["question"]) != answer_of[r["knowledge_id"]]
        )
        pending = store.scalar("SELECT COUNT(*) FROM pending_phrasings WHERE status = 'pending'")
        store.close()
    return summarise(rows) | {"added": len(added), "wrongly_added": wrongly_added, "pending": pending}


def summarise(rows: list[tuple[bool, str, bool, bool]]) -> dict:
    half = len(rows) // 2

    def part(chunk):
        in_scope = sum(r[0] for r in chunk)
        given = [r for r in chunk if r[1] in ("answered", "confirmed")]
        right = sum(r[2] for r in given)
        return {
            "coverage": right / in_scope if in_scope else 0.0,
            "precision": right / len(given) if given else 1.0,
            "wrong_rate": (len(given) - right) / max(len(chunk), 1),
            "check_rate": sum(r[1] in ("confirmed", "declined") for r in chunk) / max(len(chunk), 1),
        }

    via = [r for r in rows if r[3]]
    step = len(rows) / SLICES
    curve = [part(rows[round(k * step) : round((k + 1) * step)])["coverage"] for k in range(SLICES)]
    return {
        "all": part(rows),
        "first": part(rows[:half]),
        "second": part(rows[half:]),
        "via_added": len(via),
        "via_added_right": sum(r[2] for r in via),
        "curve": curve,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cases", type=Path, nargs="?")
    parser.add_argument("--report", type=Path, help="report (and plot) the runs of an earlier --out file")
    parser.add_argument("--calls", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--careless", type=float, default=0.0)
    parser.add_argument("--only", nargs="*", default=[], help="case names containing any of these")
    parser.add_argument("--seeds", type=int, nargs="*", default=[], help="only these seeds")
    parser.add_argument("--agree", type=float, help="cosine at which two wordings agree (the service's: AGREE_COSINE)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--plot", type=Path)
    parser.add_argument("--embeddings", type=Path, help="a pickle of text -> vector, read and extended")
    args = parser.parse_args()
    if args.report:
        earlier = load(args.report)
        report(earlier)
        if args.plot:
            plot(earlier, args.plot)
        return
    embedder = CachedEmbedder(args.embeddings)
    if args.agree is not None:
        pending_phrasings.AGREE_COSINE = args.agree
    results: dict[int, dict[str, list[dict]]] = {n: defaultdict(list) for n in args.calls}
    cases = sorted(p for p in args.cases.iterdir() if CASE.match(p.name))
    # Seed by seed, so that a run cut short has every group's first seeds.
    cases.sort(key=lambda p: int(_case(p)["seed"]))
    for case in cases:
        match = _case(case)
        if args.only and not any(word in case.name for word in args.only):
            continue
        if args.seeds and int(match["seed"]) not in args.seeds:
            continue
        data = evaluation.load_jsonl(case / "knowledge.jsonl", case / "queries.jsonl")
        for calls in args.calls:
            run = run_case(embedder, data, calls, args.careless, int(match["seed"])) | {"case": case.name}
            results[calls][group_of(case.name)].append(run)
            if args.out:  # one line per run, as it comes
                with args.out.open("a") as f:
                    f.write(json.dumps(run | {"calls": calls, "group": group_of(case.name)}) + "\n")
        print(
            case.name, *(f"N={n}: {results[n][group_of(case.name)][-1]['second']['coverage']:.3f}" for n in args.calls)
        )
        embedder.save()
    report(results)
    if args.plot:
        plot(results, args.plot)


def _case(path: Path) -> re.Match[str]:
    match = CASE.match(path.name)
    assert match is not None
    return match


def load(path: Path) -> dict[int, dict[str, list[dict]]]:
    """The runs an `--out` file holds, for `--report`."""
    results: dict[int, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for line in path.read_text().splitlines():
        run = json.loads(line)
        results[run["calls"]][run["group"]].append(run)
    return results


def report(results: dict[int, dict[str, list[dict]]]) -> None:
    print(
        "N (0: no learning) | group | sets | coverage 1st half -> 2nd (mean; worst set's 2nd) | precision mean / worst"
        " | wrong max | checks max | added (wrong) | answers via added: right / all"
    )
    for calls, by_group in results.items():
        everything = [r for runs in by_group.values() for r in runs]
        for group, runs in sorted(by_group.items()) + [("all", everything)]:

            def mean(key: str, half: str, runs: list[dict] = runs) -> float:
                return sum(r[half][key] for r in runs) / len(runs)

            print(
                f"{calls} | {group} | {len(runs)} | {mean('coverage', 'first'):.3f} -> {mean('coverage', 'second'):.3f}"
                f" ({min(r['second']['coverage'] for r in runs):.3f}) | {mean('precision', 'all'):.3f} /"
                f" {min(r['all']['precision'] for r in runs):.3f} | {max(r['all']['wrong_rate'] for r in runs):.3f} |"
                f" {max(r['all']['check_rate'] for r in runs):.3f} | {sum(r['added'] for r in runs)}"
                f" ({sum(r['wrongly_added'] for r in runs)}) | {sum(r['via_added_right'] for r in runs)} /"
                f" {sum(r['via_added'] for r in runs)}"
            )


def plot(results: dict[int, dict[str, list[dict]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    xs = [(k + 0.5) / SLICES for k in range(SLICES)]
    for calls, by_group in results.items():
        runs = [r for group in by_group.values() for r in group]
        mean = [sum(r["curve"][k] for r in runs) / len(runs) for k in range(SLICES)]
        label = "no learning" if calls == 0 else f"learned after {calls} agreeing call{'s' * (calls > 1)}"
        ax.plot(xs, mean, marker="o", label=f"{label} ({len(runs)} sets, mean)")
    ax.set_xlabel("position in the stream of questions (tenths)")
    ax.set_ylabel("coverage (right answers / answerable questions)")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.set_title("Coverage along a shuffled stream of questions, honest callers", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()

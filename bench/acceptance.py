"""The acceptance check on small knowledge bases: each case run through the CLI as a new user would, then judged.

    .venv/bin/python -m bench.acceptance CASES_DIR [--only SUBSTRING] [--jobs N] [--out results.jsonl]

CASES_DIR holds one directory per case with knowledge.jsonl ({"answer", "questions"}) and queries.jsonl
({"question", "expected_answer" | null}; null: must not be answered), as the eval data's make_small_kb.py writes
them. For each case, in a fresh data dir: `frontdesk import`, `frontdesk calibrate --apply`, `frontdesk serve`,
then every question POSTed to /api/ask in file order. A `confirm` is answered as an honest caller would: yes if
the proposed entry's answer is the expected one, else no; the reply to that is the final outcome.
One JSON line per case is appended to --out; a summary per group (CLINC150 domains / HWU64, k) is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.common import free_port

FRONTDESK = str(Path(sys.executable).parent / "frontdesk")
CASE_NAME = re.compile(r"^(?P<set>.+)-k(?P<k>\d+)-s(?P<seed>\d+)$")
MIN_PRECISION, MAX_WRONG_RATE = 0.95, 0.02


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def ask_all(url: str, token: str, queries: list[dict]) -> dict:
    """Every question in file order; confirmations answered honestly. Counts, and any unexpected status."""
    counts = Counter()
    http_errors = Counter()
    answers: dict[int, str] = {}  # knowledge_id -> answer text
    with httpx.Client(base_url=url, timeout=60) as client:

        def entry_answer(knowledge_id: int) -> str | None:
            if knowledge_id not in answers:
                r = client.get(f"/api/knowledge/{knowledge_id}", headers={"Authorization": f"Bearer {token}"})
                if r.status_code != 200:
                    http_errors[f"GET /api/knowledge/{{id}} {r.status_code}"] += 1
                    return None
                answers[knowledge_id] = r.json()["answer"]
            return answers[knowledge_id]

        for query in queries:
            expected = query["expected_answer"]
            counts["total"] += 1
            counts["in_kb"] += expected is not None
            r = client.post("/api/ask", json={"question": query["question"]})
            if r.status_code != 200:
                http_errors[f"POST /api/ask {r.status_code}"] += 1
                continue
            reply = r.json()
            counts[f"first_{reply['outcome']}"] += 1
            if reply["outcome"] == "confirm":
                counts["confirms"] += 1
                proposed = entry_answer(reply["knowledge_id"])  # looked up whatever is expected, as a caller hears it
                yes = proposed is not None and proposed == expected
                counts["confirmed_yes" if yes else "confirmed_no"] += 1
                r = client.post(f"/api/confirmations/{reply['confirmation_id']}", json={"confirmed": yes})
                if r.status_code != 200:
                    http_errors[f"POST /api/confirmations/{{id}} {r.status_code}"] += 1
                    continue
                reply = r.json()
            if reply["outcome"] == "answered":
                right = expected is not None and reply["answer"] == expected
                counts["answered_right" if right else "answered_wrong"] += 1
            else:
                counts[f"final_{reply['outcome']}"] += 1
    return {"counts": dict(counts), "http_errors": dict(http_errors)}


def not_info(line: str) -> bool:
    """A line of the service's log above info level, or a plain-text one that looks like an error (a traceback)."""
    try:
        return json.loads(line).get("level") not in ("debug", "info")
    except (ValueError, AttributeError):  # its start-up banner is plain text too
        return re.search(r"traceback|error|exception", line, re.I) is not None


def run_case(case: Path) -> dict:
    started = time.perf_counter()
    token = secrets.token_hex(16)  # 32 characters
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}  # a new user's environment
        env |= {
            "KB_DATA_DIR": str(Path(tmp) / "data"),
            "KB_DEMO": "false",
            "KB_ASK_RATE_LIMIT_PER_MINUTE": "0",
            "KB_SUPERVISOR_TOKEN": token,
        }

        def cli(*args: str) -> str:
            done = subprocess.run([FRONTDESK, *args], env=env, cwd=tmp, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"frontdesk {' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}")
            return done.stdout

        imported = cli("import", str(case.resolve() / "knowledge.jsonl"))
        try:
            calibrated = cli("calibrate", "--apply")
        except RuntimeError as error:  # recorded, and the service is judged anyway: it calibrates at start
            calibrated = f"FAILED: {str(error).strip().splitlines()[-1]}"
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = Path(tmp) / "serve.log"
        with open(log, "w") as log_file:
            proc = subprocess.Popen(
                [FRONTDESK, "serve", "--port", str(port)], env=env, cwd=tmp, stdout=log_file, stderr=log_file
            )
            try:
                deadline = time.monotonic() + 600
                while True:
                    try:
                        if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"the service did not start: {log.read_text()[-2000:]}")
                    time.sleep(0.2)
                served = ask_all(url, token, read_jsonl(case / "queries.jsonl"))
            finally:
                proc.terminate()
                returncode = proc.wait(timeout=60)
        server_log = log.read_text()
    c = Counter(served["counts"])
    right, wrong, total = c["answered_right"], c["answered_wrong"], c["total"]
    return {
        "case": case.name,
        "precision": right / (right + wrong) if right + wrong else 1.0,
        "coverage": right / c["in_kb"] if c["in_kb"] else 0.0,
        "wrong_rate": wrong / total if total else 0.0,
        "confirm_rate": c["confirms"] / total if total else 0.0,
        **served,
        "import_stdout": imported.strip(),
        "calibrate_stdout": calibrated.strip(),
        "server_returncode": returncode,
        "server_error_lines": [line for line in server_log.splitlines() if not_info(line)][:50],
        "seconds": round(time.perf_counter() - started, 1),
    }


def group_of(name: str) -> str:
    m = CASE_NAME.match(name)
    return f"{'clinc' if m['set'].startswith('clinc') else m['set']} k={m['k']}"


def passes(r: dict) -> bool:
    return r["precision"] >= MIN_PRECISION and r["wrong_rate"] <= MAX_WRONG_RATE


def summarise(results: list[dict]) -> None:
    groups = defaultdict(list)
    for r in results:
        groups[group_of(r["case"])].append(r)
    print(
        f"| group | sets | mean prec | worst prec | pooled cov | worst wrong | max confirm | "
        f"pass (P>={MIN_PRECISION}, W<={MAX_WRONG_RATE}) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, rs in sorted(groups.items(), key=lambda g: (g[0].split()[0], int(g[0].split("=")[1]))):
        right = sum(r["counts"].get("answered_right", 0) for r in rs)
        in_kb = sum(r["counts"].get("in_kb", 0) for r in rs)
        print(
            f"| {name} | {len(rs)} | {sum(r['precision'] for r in rs) / len(rs):.3f} "
            f"| {min(r['precision'] for r in rs):.3f} | {right / in_kb:.3f} "
            f"| {max(r['wrong_rate'] for r in rs):.4f} | {max(r['confirm_rate'] for r in rs):.3f} "
            f"| {sum(map(passes, rs))}/{len(rs)} |"
        )
    right = sum(r["counts"].get("answered_right", 0) for r in results)
    in_kb = sum(r["counts"].get("in_kb", 0) for r in results)
    print(
        f"\noverall pooled coverage: {right / in_kb:.3f} ({right}/{in_kb}), {sum(map(passes, results))}/{len(results)} sets pass"
    )
    failing = [r for r in results if not passes(r)]
    if failing:
        print("\nfailing sets:")
        for r in sorted(failing, key=lambda r: r["case"]):
            print(
                f"  {r['case']}: precision {r['precision']:.3f}, wrong rate {r['wrong_rate']:.4f}, "
                f"coverage {r['coverage']:.3f}, confirm rate {r['confirm_rate']:.3f}"
            )
    odd = [
        r
        for r in results
        if r["http_errors"]
        or r["server_error_lines"]
        or r["server_returncode"] not in (0, -15)
        or r["calibrate_stdout"].startswith("FAILED")
    ]
    for r in odd:
        print(
            f"  note {r['case']}: http {r['http_errors']}, server exit {r['server_returncode']}, "
            f"{len(r['server_error_lines'])} error lines in the server's log, calibrate: {r['calibrate_stdout'][:100]}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("cases", type=Path, help="a directory of case directories (knowledge.jsonl, queries.jsonl)")
    parser.add_argument(
        "--only", action="append", default=[], help="run only the cases whose name contains this (repeatable: any)"
    )
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("acceptance_results.jsonl"))
    args = parser.parse_args()
    cases = sorted(
        p
        for p in args.cases.iterdir()
        if (p / "knowledge.jsonl").is_file() and (not args.only or any(s in p.name for s in args.only))
    )
    if not cases:
        raise SystemExit(f"no case directories under {args.cases} matching {args.only}")
    done = {r["case"]: r for r in read_jsonl(args.out)} if args.out.exists() else {}  # a rerun resumes
    results = [done[p.name] for p in cases if p.name in done]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool, open(args.out, "a") as out:
        todo = [p for p in cases if p.name not in done]
        ran = len(todo)
        for r in pool.map(run_case, todo):
            out.write(json.dumps(r) + "\n")
            out.flush()
            results.append(r)
            print(
                f"{r['case']}: precision {r['precision']:.3f}, coverage {r['coverage']:.3f}, "
                f"wrong {r['wrong_rate']:.4f}, confirm {r['confirm_rate']:.3f} ({r['seconds']:.0f} s)",
                flush=True,
            )
    print(f"\n{len(results)} cases ({len(results) - ran} from earlier runs), {time.perf_counter() - started:.0f} s\n")
    summarise(results)


if __name__ == "__main__":
    main()

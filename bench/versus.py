"""This version against another, side by side: single-ask latency and sustained asks per second.

    git worktree add --detach ../before v0.3.1
    .venv/bin/python -m bench.versus --against ../before --clinc150 PATH [--phrasings 10000] [--asks 300]

Both services run at once over copies of one knowledge base (written by the other version's code, which this one
migrates at start), with automatic calibration off. Latency: one ask to the other version, then the same question to this one, in turn. Throughput:
`wrk` windows against each in turn (the idle one uses no CPU), `--rounds` each. Whatever else the machine does
slows both alike, so the ratio holds where the absolute figures do not.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import common
from bench.throughput import wrk

BUILD = """
import sys
from pathlib import Path
from bench import common
texts = common.phrasing_texts(common.load_clinc150(Path(sys.argv[1])), int(sys.argv[2]))
vectors = common.embed_cached(common.make_embedder(), texts, "phrasings")
common.build_kb(Path(sys.argv[3]), texts, vectors)
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--against", type=Path, required=True, help="a checkout of the version to compare with")
    parser.add_argument("--phrasings", type=int, default=10_000)
    parser.add_argument("--asks", type=int, default=300)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10, help="one wrk window")
    parser.add_argument("--rounds", type=int, default=3)
    common.add_clinc150_option(parser)
    args = parser.parse_args()
    against = args.against.resolve()
    clinc150 = common.load_clinc150(args.clinc150)
    queries = common.query_texts(clinc150, args.asks + 20)
    with tempfile.TemporaryDirectory() as tmp:
        theirs_dir, ours_dir = Path(tmp) / "theirs", Path(tmp) / "ours"
        env = {"PYTHONPATH": str(against)}
        subprocess.run(
            [sys.executable, "-c", BUILD, str(args.clinc150), str(args.phrasings), str(theirs_dir)],
            env={**common.Service(theirs_dir).env, **env},
            check=True,
        )
        shutil.copytree(theirs_dir, ours_dir)
        bodies = Path(tmp) / "bodies.jsonl"
        bodies.write_text("".join(json.dumps({"question": q}) + "\n" for q in queries))
        # The one-off calibration of a freshly written knowledge base would run in the background meanwhile (its
        # cost differs between versions, and a service does it once): both measure asks alone.
        quiet = {"KB_RECALIBRATE_EVERY": "0"}
        with common.Service(theirs_dir, **env, **quiet) as theirs, common.Service(ours_dir, **quiet) as ours:
            clients = common.AskClient(theirs), common.AskClient(ours)
            for q in queries[:20]:
                clients[0].ask(q), clients[1].ask(q)
            times: tuple[list[float], list[float]] = ([], [])
            for q in queries[20:]:
                for client, spent in zip(clients, times):
                    time.sleep(0.005)  # the last ask's after-reply work is done
                    spent.append(client.ask(q))
            for client in clients:
                client.close()
            served: tuple[list[int], list[int]] = ([], [])
            for _ in range(args.rounds):
                for service, counts in zip((theirs, ours), served):
                    run = wrk(service.url, args.clients, args.seconds, bodies)
                    if run["non_2xx"] or run["socket_errors"]:
                        raise RuntimeError(f"wrk saw errors: {run['output']}")
                    counts.append(run["requests"])
    per_second = [sum(counts) / (args.rounds * args.seconds) for counts in served]
    rows = [
        ("ask p50: this version vs the other", common.pct(times[1], 50), common.pct(times[0], 50), "ms"),
        ("ask p95: this version vs the other", common.pct(times[1], 95), common.pct(times[0], 95), "ms"),
        ("asks per second: this version vs the other", per_second[1], per_second[0], "/s"),
    ]
    common.report(
        f"versus_{args.phrasings}",
        f".venv/bin/python -m bench.versus --against {args.against} --phrasings {args.phrasings}",
        rows,
        {
            "against": subprocess.run(
                ["git", "-C", str(against), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
            ).stdout.strip(),
            "asks": args.asks,
            "method": "latency interleaved per question; throughput wrk windows alternating, "
            f"{args.rounds} x {args.seconds:g} s each, {args.clients} connections",
        },
    )


if __name__ == "__main__":
    main()

"""Sustained asks per second with 32 concurrent HTTP clients, against raw batched encode throughput.

    .venv/bin/python -m bench.throughput --clinc150 PATH [--phrasings 10000] [--clients 32] [--seconds 30] [--rounds 3]

The load comes from `wrk` (Debian's package; `make bench-throughput` installs it): 32 kept-alive connections,
each sending its next ask as soon as the last is answered, from a C program that needs little of the two cores
the service and the model share. Service and floor alternate: each round runs the model alone on batches of 64
for half a window, then the service under load for a window, so both see the same machine.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench import common

LUA = Path(__file__).resolve().parent / "ask.lua"


def wrk(url: str, clients: int, seconds: float, bodies: Path) -> dict:
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{clients}",
            f"-d{seconds:g}s",
            "--timeout",
            "60s",
            "--latency",
            "-s",
            str(LUA),
            url,
            "--",
            str(bodies),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 1e-3, "ms": 1.0, "s": 1000.0}
    return {
        "requests": requests,
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": sum(map(int, errors.groups())) if errors else 0,
        "p50_ms": float(p50.group(1)) * scale[p50.group(2)] if p50 else None,
        "output": out,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phrasings", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30, help="total time under load, over all rounds")
    parser.add_argument("--rounds", type=int, default=3)
    common.add_clinc150_option(parser)
    args = parser.parse_args()
    clinc150 = common.load_clinc150(args.clinc150)
    if shutil.which("wrk") is None:
        raise SystemExit(
            "bench.throughput needs wrk: run `make bench-throughput` (it installs it) or `apt-get install wrk`"
        )
    embedder = common.make_embedder()
    texts = common.phrasing_texts(clinc150, args.phrasings)
    vectors = common.embed_cached(embedder, texts, "phrasings")
    queries = common.query_texts(clinc150, 4500)
    window = args.seconds / args.rounds

    def floor(seconds: float) -> tuple[int, float]:
        """The model alone on batches of 64 of the same questions: (texts embedded, seconds)."""
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            batch = queries[done % 4000 : done % 4000 + 64]
            embedder.embed(batch, batch_size=64)
            done += len(batch)
        return done, time.perf_counter() - start

    raw_done = raw_seconds = served = 0.0
    runs, raw_rates = [], []
    with tempfile.TemporaryDirectory() as tmp:
        bodies = Path(tmp) / "bodies.txt"
        bodies.write_text("".join(json.dumps({"question": q}) + "\n" for q in queries))
        common.build_kb(Path(tmp) / "data", texts, vectors)
        with common.Service(Path(tmp) / "data") as service:
            wrk(service.url, args.clients, 2, bodies)  # warm-up
            for _ in range(args.rounds):
                done, seconds = floor(window / 2)
                raw_done, raw_seconds = raw_done + done, raw_seconds + seconds
                raw_rates.append(round(done / seconds, 1))
                run = wrk(service.url, args.clients, window, bodies)
                runs.append(run)
                served += run["requests"]
    rate, raw_rate = served / (window * args.rounds), raw_done / raw_seconds
    failures = sum(r["non_2xx"] + r["socket_errors"] for r in runs)
    rows = [(f"asks/s, {args.clients} clients", rate, raw_rate, "/s")]
    common.report(
        "throughput",
        f".venv/bin/python -m bench.throughput --clients {args.clients} --seconds {args.seconds:g}",
        rows,
        {
            "clients": args.clients,
            "rounds": args.rounds,
            "failures": failures,
            "p50_ms_per_round": [r["p50_ms"] for r in runs],
            "asks_per_s_per_round": [round(r["requests"] / window, 1) for r in runs],
            "floor_per_s_per_round": raw_rates,
            "load": "wrk -t1, kept-alive connections",
            "method": "alternating: model alone for half a window, then the service for a window",
        },
    )
    print(
        f"failures (non-2xx, socket errors): {failures}; per round: asks/s "
        f"{[round(r['requests'] / window, 1) for r in runs]}, floor/s {raw_rates}, "
        f"wrk p50 {[r['p50_ms'] for r in runs]} ms"
    )
    if failures:
        raise SystemExit("some asks failed; see wrk's output above")


if __name__ == "__main__":
    main()

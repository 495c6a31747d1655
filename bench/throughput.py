"""Sustained asks per second with 32 concurrent HTTP clients, against raw batched encode throughput.

    .venv/bin/python -m bench.throughput [--phrasings 10000] [--clients 32] [--seconds 30]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench import common


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phrasings", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    embedder = common.make_embedder()
    texts = common.phrasing_texts(args.phrasings)
    vectors = common.embed_cached(embedder, texts, "phrasings")
    queries = common.query_texts(4500)

    # The floor: the model alone on batches of 64, for as long as the service gets.
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < min(args.seconds, 15):
        batch = queries[done % 4000:done % 4000 + 64]
        embedder.embed(batch, batch_size=64)
        done += len(batch)
    raw_rate = done / (time.perf_counter() - start)

    with tempfile.TemporaryDirectory() as tmp:
        common.build_kb(Path(tmp) / "data", texts, vectors)
        with common.Service(Path(tmp) / "data") as service:
            counts = [0] * args.clients
            errors = [0]
            stop = time.perf_counter() + args.seconds

            def caller(n: int) -> None:
                with httpx.Client(base_url=service.url, timeout=60) as client:
                    i = n
                    while time.perf_counter() < stop:
                        response = client.post("/api/ask", json={"question": queries[i % len(queries)]})
                        if response.status_code == 200:
                            counts[n] += 1
                        else:
                            errors[0] += 1
                        i += args.clients

            threads = [threading.Thread(target=caller, args=(n,)) for n in range(args.clients)]
            began = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            rate = sum(counts) / (time.perf_counter() - began)
    rows = [(f"asks/s, {args.clients} clients", rate, raw_rate, "/s")]
    common.report("throughput", f".venv/bin/python -m bench.throughput --clients {args.clients} --seconds "
                  f"{args.seconds:g}", rows, {"errors": errors[0], "clients": args.clients})


if __name__ == "__main__":
    main()

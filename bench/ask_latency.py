"""Single-ask latency: p50/p95 of POST /api/ask over loopback HTTP against raw encode + search.

    .venv/bin/python -m bench.ask_latency [--phrasings 10000] [--asks 300]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from bench import common
from kb_service.index import VectorIndex


def serve_asks(service, queries: list[str]) -> tuple[list[float], float]:
    """One caller asking one question after another, over a kept-alive connection."""
    served = []
    with httpx.Client(base_url=service.url, timeout=30) as client:
        for q in queries[:20]:  # warm-up
            client.post("/api/ask", json={"question": q})
        for q in queries:
            t = time.perf_counter()
            client.post("/api/ask", json={"question": q}).raise_for_status()
            served.append(time.perf_counter() - t)
    return served, service.rss_mb()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phrasings", type=int, default=10_000)
    parser.add_argument("--asks", type=int, default=300)
    args = parser.parse_args()
    embedder = common.make_embedder()
    texts = common.phrasing_texts(args.phrasings)
    vectors = common.embed_cached(embedder, texts, "phrasings")
    queries = common.query_texts(args.asks)

    index = VectorIndex(384, "auto")
    index.add(np.arange(len(vectors)), vectors)
    raw = []
    for q in queries:  # the floor: one forward pass and one search, nothing else
        t = time.perf_counter()
        index.search(embedder.embed([q]), 10)
        raw.append(time.perf_counter() - t)

    with tempfile.TemporaryDirectory() as tmp:
        common.build_kb(Path(tmp) / "data", texts, vectors)
        with common.Service(Path(tmp) / "data") as service:
            served, rss = serve_asks(service, queries)
    rows = [("ask p50", common.pct(served, 50), common.pct(raw, 50), "ms"),
            ("ask p95", common.pct(served, 95), common.pct(raw, 95), "ms")]
    common.report(f"ask_latency_{args.phrasings}", f".venv/bin/python -m bench.ask_latency --phrasings "
                  f"{args.phrasings}", rows, {"phrasings": args.phrasings, "asks": args.asks, "service_rss_mb": rss})


if __name__ == "__main__":
    main()

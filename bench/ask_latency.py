"""Single-ask latency: p50/p95 of POST /api/ask over loopback HTTP against raw encode + search.

    .venv/bin/python -m bench.ask_latency --clinc150 PATH [--phrasings 10000] [--asks 300]

The floor is one forward pass by the embedder the service runs (`embedder.embed([q])`: tokenise, run, pool)
plus FAISS's own search (`common.raw_index`: IndexFlatIP at 10k), not our index. A last row compares the two
searches alone, each right after a forward pass as in an ask.
Service and floor are measured interleaved, one floor ask then one service ask, so that whatever else the
(shared) machine is doing slows both alike; a 5 ms pause before each floor ask lets the service finish its
after-reply work first. The HTTP client (`common.AskClient`) writes and reads HTTP/1.1 on one
kept-alive socket by hand: the thinnest client there is, so the figure is the service's own time plus one
loopback round trip.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import common
from kb_service.knowledge.index import VectorIndex

# Before each floor measurement: time for the service's work after a reply (the outbox delivering an
# escalation's notification to the supervisor: a log line and a commit) to finish, so that it does not slow the
# floor measured next. Without it, floors measured after an escalated ask were 0.21-0.26 ms slower than after an
# answered one, which flattered the ratio; with it, no difference (docs/performance.md).
SETTLE_SECONDS = 0.005


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phrasings", type=int, default=10_000)
    parser.add_argument("--asks", type=int, default=300)
    common.add_clinc150_option(parser)
    args = parser.parse_args()
    clinc150 = common.load_clinc150(args.clinc150)
    embedder = common.make_embedder()
    texts = common.phrasing_texts(clinc150, args.phrasings)
    vectors = common.embed_cached(embedder, texts, "phrasings")
    queries = common.query_texts(clinc150, args.asks + 20)

    index = common.raw_index(vectors)

    def floor(question: str) -> float:  # one forward pass and one search, nothing else
        started = time.perf_counter()
        index.search(embedder.embed([question]), 20)  # as many neighbours as the matcher asks for
        return time.perf_counter() - started

    with tempfile.TemporaryDirectory() as tmp:
        common.build_kb(Path(tmp) / "data", texts, vectors)
        with common.Service(Path(tmp) / "data") as service:
            client = common.AskClient(service)
            served = client.ask

            for q in queries[:20]:  # warm-up of both
                floor(q), served(q)
            raw, service_times = [], []
            for q in queries[20:]:
                time.sleep(SETTLE_SECONDS)
                raw.append(floor(q))
                service_times.append(served(q))
            client.close()
            rss = service.rss_mb()
    ours = VectorIndex(384, "auto")
    ours.add(np.arange(len(vectors)), vectors)
    our_search, raw_search = [], []
    for q in queries[20:]:
        for searcher, times in ((ours, our_search), (index, raw_search)):
            vector = embedder.embed([q])
            started = time.perf_counter()
            searcher.search(vector, 20)
            times.append(time.perf_counter() - started)
    rows = [
        ("ask p50", common.pct(service_times, 50), common.pct(raw, 50), "ms"),
        ("ask p95", common.pct(service_times, 95), common.pct(raw, 95), "ms"),
        (
            "search alone after a forward pass, p50: our index vs FAISS",
            common.pct(our_search, 50),
            common.pct(raw_search, 50),
            "ms",
        ),
    ]
    common.report(
        f"ask_latency_{args.phrasings}",
        f".venv/bin/python -m bench.ask_latency --phrasings {args.phrasings}",
        rows,
        {
            "phrasings": args.phrasings,
            "asks": args.asks,
            "service_rss_mb": rss,
            "client": "raw HTTP/1.1 on one kept-alive socket (common.AskClient)",
            "method": "interleaved: 5 ms pause, one floor ask, then one service ask",
        },
    )


if __name__ == "__main__":
    main()

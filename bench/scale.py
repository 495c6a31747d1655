"""Scale: recall@1 of the approximate index against exact search on real embeddings, search latency and
memory at N phrasings, and (with --http) ask latency of the service over a knowledge base of N phrasings.

    .venv/bin/python -m bench.scale --clinc150 PATH [--phrasings 1000000] [--real 100000] [--http]

Embedding a million texts takes ~20 min at 850/s on two idle cores, so the vectors are: real embeddings of
`--real` distinct texts (CLINC150 texts and light synthetic variations of them, cached under bench/.cache),
then, up to `--phrasings`, each real vector plus small Gaussian noise, renormalised (cosine ~0.9 to its
source). Queries are real embeddings of held-out CLINC150 test questions. docs/performance.md says which
sizes were actually run.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import common
from kb_service.knowledge.index import VectorIndex


def vectors_for(n: int, real: np.ndarray, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    out[: len(real)] = real[:n]
    for start in range(len(real), n, 100_000):
        stop = min(start + 100_000, n)
        base = real[rng.integers(0, len(real), stop - start)]
        noisy = base + rng.standard_normal(base.shape).astype(np.float32) * 0.025
        out[start:stop] = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
    return out


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phrasings", type=int, default=1_000_000)
    parser.add_argument("--real", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--http", action="store_true", help="also measure /api/ask over a KB of this size")
    common.add_clinc150_option(parser)
    args = parser.parse_args()
    clinc150 = common.load_clinc150(args.clinc150)
    embedder = common.make_embedder()
    real = common.embed_cached(embedder, common.phrasing_texts(clinc150, min(args.real, args.phrasings)), "phrasings")
    vectors = vectors_for(args.phrasings, real)
    queries = common.query_texts(clinc150, args.queries)
    query_vectors = embedder.embed(queries)

    exact = VectorIndex(384, "flat")
    exact.add(np.arange(len(vectors)), vectors)
    _, exact_ids = exact.search(query_vectors, 1)
    del exact
    before = rss_mb()
    start = time.perf_counter()
    approximate = VectorIndex(384, "hnsw")
    for chunk in range(0, len(vectors), 10_000):  # the way the service's start-up sync fills it
        approximate.add(np.arange(chunk, min(chunk + 10_000, len(vectors))), vectors[chunk : chunk + 10_000])
    build = time.perf_counter() - start
    index_mb = rss_mb() - before
    _, approx_ids = approximate.search(query_vectors, 1)
    recall = float(np.mean(exact_ids[:, 0] == approx_ids[:, 0]))
    search, encode_search = [], []
    for q, v in zip(queries, query_vectors):
        t = time.perf_counter()
        approximate.search(v, 10)
        search.append(time.perf_counter() - t)
        t = time.perf_counter()
        approximate.search(embedder.embed([q]), 10)
        encode_search.append(time.perf_counter() - t)
    rows = [
        ("recall@1 of HNSW vs exact", recall, 1.0, ""),
        ("HNSW search p50 (1 query)", common.pct(search, 50), None, "ms"),
        ("encode + HNSW search p50", common.pct(encode_search, 50), None, "ms"),
    ]
    extra = {
        "phrasings": args.phrasings,
        "real_embeddings": len(real),
        "hnsw_build_seconds": build,
        "index_rss_mb": index_mb,
        "process_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if args.http:
        del approximate
        small = 10_000
        with tempfile.TemporaryDirectory() as tmp:
            common.build_kb(Path(tmp) / "big", [f"p{i}" for i in range(len(vectors))], vectors)
            common.build_kb(Path(tmp) / "small", [f"p{i}" for i in range(small)], vectors[:small])
            # Both services up at once and asked in turn, one question each, so the ratio comes from one run.
            with common.Service(Path(tmp) / "big") as big, common.Service(Path(tmp) / "small") as reference:
                clients = common.AskClient(big), common.AskClient(reference)
                for q in queries[:20]:  # warm-up, as in bench.ask_latency
                    for client in clients:
                        client.ask(q)
                served, served_small = [], []
                for q in queries[20:220]:
                    served.append(clients[0].ask(q))
                    served_small.append(clients[1].ask(q))
                for client in clients:
                    client.close()
                service_rss = big.rss_mb()
        rows.append(
            (
                f"ask p50 over HTTP, against {small:,} phrasings",
                common.pct(served, 50),
                common.pct(served_small, 50),
                "ms",
            )
        )
        extra["service_rss_mb"] = service_rss
    common.report(
        f"scale_{args.phrasings}",
        f".venv/bin/python -m bench.scale --phrasings {args.phrasings} "
        f"--real {args.real}" + (" --http" if args.http else ""),
        rows,
        extra,
    )
    print(extra)


if __name__ == "__main__":
    main()

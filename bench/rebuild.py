"""`frontdesk rebuild-index` over N phrasings against raw batched encode of the same texts, plus peak memory.

.venv/bin/python -m bench.rebuild --clinc150 PATH [--phrasings 100000]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import common


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phrasings", type=int, default=100_000)
    common.add_clinc150_option(parser)
    args = parser.parse_args()
    clinc150 = common.load_clinc150(args.clinc150)
    texts = common.phrasing_texts(clinc150, args.phrasings)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        # Stored vectors don't matter: rebuild re-embeds every phrasing.
        placeholder = np.random.default_rng(0).standard_normal((len(texts), 384)).astype(np.float32)
        common.build_kb(data, texts, placeholder / np.linalg.norm(placeholder, axis=1, keepdims=True))
        env = {
            **os.environ,
            "PYTHONPATH": str(common.ROOT),
            "KB_DATA_DIR": str(data),
            "KB_EMBEDDER_BACKEND": common.backend(),
        }
        start = time.perf_counter()
        subprocess.run(
            [str(Path(sys.executable).parent / "frontdesk"), "rebuild-index"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        elapsed = time.perf_counter() - start
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    embedder = common.make_embedder()
    start = time.perf_counter()
    embedder.embed(texts, batch_size=64)
    raw = time.perf_counter() - start
    rows = [
        (
            "rebuild-index, phrasings/s (whole command, model load included)",
            len(texts) / elapsed,
            len(texts) / raw,
            "/s",
        )
    ]
    common.report(
        f"rebuild_{args.phrasings}",
        f".venv/bin/python -m bench.rebuild --phrasings {args.phrasings}",
        rows,
        {"phrasings": len(texts), "rebuild_seconds": elapsed, "raw_encode_seconds": raw, "peak_rss_mb": peak_mb},
    )
    print(f"peak RSS of rebuild-index: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()

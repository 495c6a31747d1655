"""Shared pieces of the benchmarks: CLINC150 texts, cached real embeddings, a service subprocess, results.

The benchmarks need the whole of CLINC150 (tests/data/clinc150 holds only a 20-intent subset): pass its
data_full.json with `--clinc150 PATH` or set `CLINC150=PATH`. It comes from https://github.com/clinc/oos-eval
(CC BY 3.0)."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Self

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CACHE = ROOT / "bench" / ".cache"
TOKEN = "bench-supervisor-token-0123456789"
PREFIXES = ["", "hey, ", "hi, ", "quick question: ", "um, ", "excuse me, ", "sorry, ", "hello, "]
SUFFIXES = ["", "?", " please", " thanks", " today", " right now", " for me", " if you can"]


def add_clinc150_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--clinc150",
        type=Path,
        default=os.environ.get("CLINC150") or None,
        metavar="DATA_FULL_JSON",
        help="CLINC150's data_full.json (default: $CLINC150)",
    )


def load_clinc150(path: Path | None) -> dict:
    """The CLINC150 data set, or exit with what to do when it was not given or is not there."""
    if path is None:
        raise SystemExit(
            "The benchmarks need CLINC150's data_full.json: pass --clinc150 PATH or set CLINC150=PATH "
            "(from https://github.com/clinc/oos-eval)."
        )
    if not Path(path).is_file():
        raise SystemExit(f"--clinc150 / CLINC150: no such file: {path}")
    data = json.loads(Path(path).read_text())
    if not all(split in data for split in ("train", "val", "test", "oos_train", "oos_val")):
        raise SystemExit(f"{path} is not CLINC150's data_full.json (it lacks train/val/test/oos_* splits)")
    return data


def phrasing_texts(data: dict, n: int, seed: int = 0) -> list[str]:
    """n distinct phrasings: CLINC150 train/val texts, then light synthetic variations of them."""
    base = list(dict.fromkeys(t for split in ("train", "val", "oos_train", "oos_val") for t, _ in data[split]))
    out = list(base[:n])
    rng = random.Random(seed)
    seen = set(out)
    while len(out) < n:
        text = rng.choice(PREFIXES) + rng.choice(base) + rng.choice(SUFFIXES)
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def query_texts(data: dict, n: int) -> list[str]:
    """Held-out CLINC150 test questions (none is a phrasing)."""
    return [t for t, _ in data["test"]][:n]


def embed_cached(embedder, texts: list[str], name: str) -> np.ndarray:
    """Real embeddings of `texts`, computed once and kept under bench/.cache (gitignored). Keyed by the texts
    themselves, so another CLINC150 file never reuses these vectors."""
    CACHE.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:12]
    path = CACHE / f"{name}-{len(texts)}-{digest}.npy"
    if path.exists():
        return np.load(path)
    vectors = embedder.embed(texts, show_progress=True)
    np.save(path, vectors)
    return vectors


def backend() -> str:
    return os.environ.get("KB_EMBEDDER_BACKEND", "onnx")


def make_embedder():
    from kb_service.config import Settings
    from kb_service.embedding.factory import make_embedder as build

    return build(Settings(_env_file=None, KB_EMBEDDER_BACKEND=backend()))


def raw_index(vectors: np.ndarray):
    """The floor's search: FAISS itself, the kind the service picks at this size (flat up to the default
    KB_INDEX_EXACT_MAX, HNSW with the service's parameters beyond), without our index's wrapper."""
    import faiss

    from kb_service.config import Settings
    from kb_service.knowledge import index as ours

    if len(vectors) <= Settings.model_fields["index_exact_max"].default:
        raw = faiss.IndexFlatIP(vectors.shape[1])
    else:
        raw = faiss.IndexHNSWFlat(vectors.shape[1], ours.HNSW_M, faiss.METRIC_INNER_PRODUCT)
        raw.hnsw.efConstruction, raw.hnsw.efSearch = ours.HNSW_EF_CONSTRUCTION, ours.HNSW_EF_SEARCH
    raw.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return raw


def build_kb(
    data_dir: Path, texts: list[str], vectors: np.ndarray, per_entry: int = 5, database_url: str | None = None
) -> None:
    """A knowledge base of len(texts) phrasings (`per_entry` per answer), written straight to SQLite (or to the
    PostgreSQL database of `database_url`, migrated first)."""
    from kb_service.embedding import DIMENSION, MODEL_NAME
    from kb_service.knowledge.entries import KnowledgeBase
    from kb_service.storage.sqlite import SqliteStore

    class Stored:  # the vectors are already computed
        model_name, dimension = MODEL_NAME, DIMENSION

    data_dir.mkdir(parents=True, exist_ok=True)
    if database_url:
        from kb_service.storage.postgres import PostgresStore

        store = PostgresStore(database_url, migrate=True)
    else:
        store = SqliteStore(data_dir / "frontdesk.db")
    kb = KnowledgeBase(store, Stored())
    with kb.store.write() as tx:
        for start in range(0, len(texts), per_entry):
            kb.writes.insert_entry(
                tx, f"answer {start // per_entry}", texts[start : start + per_entry], vectors[start : start + per_entry]
            )
    kb.store.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """`frontdesk serve` in a subprocess on loopback, over a prepared data dir."""

    def __init__(self, data_dir: Path, cpus: str | None = None, **env: str):
        self.cpus = cpus  # pinned with taskset, such as "0"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "KB_DATA_DIR": str(data_dir),
            "KB_DEMO": "false",
            "KB_SUPERVISOR_TOKEN": TOKEN,
            "KB_ASK_RATE_LIMIT_PER_MINUTE": "0",  # per-caller limit (0 = off): one bench client is many callers
            "KB_EMBEDDER_BACKEND": backend(),
            **env,
        }
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Self:
        pin = ["taskset", "-c", self.cpus] if self.cpus else []
        self.proc = subprocess.Popen(
            [*pin, str(Path(sys.executable).parent / "frontdesk"), "serve", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 1800
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError("the service exited during start-up")
            time.sleep(0.2)
        raise RuntimeError("the service did not start")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)


class AskClient:
    """POST /api/ask over one kept-alive loopback socket, written and read by hand: the thinnest client there
    is (the standard library's `http.client` parses headers with the email package: 0.11 against 0.05 ms
    a round trip to a trivial endpoint, measured side by side), so a
    timing is the service's own time plus one loopback round trip. It reads exactly what the service sends:
    a status line, headers with Content-Length, and that many body bytes."""

    def __init__(self, service: Service):
        self.socket = socket.create_connection(("127.0.0.1", service.port), timeout=60)
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def ask(self, question: str) -> float:
        """Seconds until the whole response is read; raises unless it is a 200."""
        body = json.dumps({"question": question}).encode()
        request = (
            b"POST /api/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        started = time.perf_counter()
        self.socket.sendall(request)
        received = b""
        while b"\r\n\r\n" not in received:
            received += self._recv()
        head, content = received.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        length = next(int(line.split(b":", 1)[1]) for line in lines if line.lower().startswith(b"content-length:"))
        while len(content) < length:
            content += self._recv()
        elapsed = time.perf_counter() - started
        if lines[0].split()[1] != b"200" or len(content) != length:
            raise RuntimeError(f"/api/ask answered {lines[0]!r}")
        return elapsed

    def _recv(self) -> bytes:
        chunk = self.socket.recv(65536)
        if not chunk:
            raise RuntimeError("the service closed the connection")
        return chunk

    def close(self) -> None:
        self.socket.close()


def pct(values, q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000, q))


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {"cores": os.cpu_count(), "cpu": cpu, "python": platform.python_version(), "load_average": os.getloadavg()}


def report(name: str, command: str, rows: list[tuple[str, float, float | None, str]], extra: dict) -> None:
    """rows: (figure, service value, floor value or None, unit). Prints a table; writes JSON and Markdown."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    lines = [
        f"### {name}",
        "",
        f"`{command}`, backend {backend()}",
        "",
        "| Figure | Service | Raw floor | Ratio |",
        "|---|---|---|---|",
    ]
    for figure, value, floor, unit in rows:
        ratio = f"{value / floor:.2f}" if floor else "-"
        floor_text = f"{floor:.2f} {unit}" if floor is not None else "-"
        lines.append(f"| {figure} | {value:.2f} {unit} | {floor_text} | {ratio} |")
    table = "\n".join(lines)
    print(table)
    result = {
        "name": name,
        "command": command,
        "backend": backend(),
        "machine": machine(),
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rows": [
            {"figure": f, "service": v, "floor": fl, "ratio": (v / fl if fl else None), "unit": u}
            for f, v, fl, u in rows
        ],
        **extra,
    }
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2))
    (RESULTS / f"{name}.md").write_text(table + "\n")

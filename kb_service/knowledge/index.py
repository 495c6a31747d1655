"""The FAISS index of phrasing vectors, keyed by phrasing id. Inner product of unit vectors = cosine.

Two kinds behind one interface (add / remove / search / ids / save / load / len):
- `flat`: exact search (IndexFlatIP); remove really removes. Fast enough up to `exact_max` vectors.
- `hnsw`: approximate search (IndexHNSWFlat, inner product) for large knowledge bases. HNSW cannot remove a
  vector, so a removed or replaced vector becomes a tombstone: its slot is left out of every search by an
  IDSelectorBitmap (filtered inside the graph walk, so k live results still come back), and tombstones are
  compacted away when they pass a quarter of the index (on save) or on `frontdesk rebuild-index`.
`auto` starts flat and turns into HNSW once it holds more than `exact_max` vectors.

Both keep the IndexIDMap2 wrapper: slot -> phrasing id is its `id_map`, saved with the index. At load, a slot
whose id appears again later is a tombstone; ids removed before the last save come back, and the start-up sync
with the database (the source of truth) removes them again.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import NamedTuple

import faiss
import numpy as np
from threadpoolctl import threadpool_limits

EXACT_BLOCK = 32_768  # stored vectors scored at a time by `_exact_search` (64 queries: 8 MB of scores)
KINDS = ("auto", "flat", "hnsw")
HNSW_M = 32  # graph degree
HNSW_EF_CONSTRUCTION = 200  # recall and speed of these settings: docs/performance.md
HNSW_EF_SEARCH = 512
COMPACT_FRACTION = 0.25
BULK_ADD = 1000  # from this many vectors an add uses every core (graph construction parallelises well)


class Hit(NamedTuple):
    """A phrasing near a query: its cosine similarity, its id and its entry's."""

    cosine: float
    phrasing_id: int
    knowledge_id: int


class Neighbour(NamedTuple):
    """An entry near a question, by the cosine of its nearest phrasing: for the knowledge search and the import's
    near-duplicate warnings (answering weighs entries otherwise: `matching/matcher.py`)."""

    knowledge_id: int
    cosine: float


def _threads_for(n: int) -> int:
    return (os.cpu_count() or 1) if n >= BULK_ADD else 1


def limit_thread_pools() -> None:
    """The model owns both cores: numpy's BLAS pool runs one thread (process-wide), and FAISS's OpenMP pool one
    thread in each thread that searches or adds (OpenMP counts per thread, see `search`)."""
    threadpool_limits(limits=1, user_api="blas")
    faiss.omp_set_num_threads(1)


def _scores(block: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """(queries, len(block)) inner products, contiguous for FAISS's heaps."""
    return np.ascontiguousarray((block @ vectors.T).T)


class VectorIndex:
    """Cosine search with add and remove by id. Thread-safe."""

    def __init__(self, dimension: int, kind: str = "flat", exact_max: int = 50_000):
        if kind not in KINDS:
            raise ValueError(f"index kind must be one of {', '.join(KINDS)}, not {kind!r}")
        self.dimension = dimension
        self.kind = kind
        self.exact_max = exact_max
        self._lock = threading.RLock()
        self._set_index(self._new_index("hnsw" if kind == "hnsw" else "flat"))
        self._slot: dict[int, int] = {}  # hnsw only: live phrasing id -> slot
        self._dead = np.zeros(0, dtype=np.uint8)  # hnsw only: bitmap of tombstoned slots (little-endian bits)
        self._dead_count = 0
        self._live_bits: np.ndarray | None = None  # cached complement of _dead, handed to FAISS

    # ---- kinds

    def _set_index(self, index) -> None:
        self._index = index
        self.approximate = isinstance(faiss.downcast_index(index.index), faiss.IndexHNSW)
        self._changed()

    def _changed(self) -> None:
        """Forget the slot -> id array derived from the index (after any add, remove or rebuild)."""
        self._id_array: np.ndarray | None = None

    def _stored_vectors(self) -> np.ndarray:
        """The flat index's stored vectors as an (n, dimension) array, a view of FAISS's own copy."""
        inner = faiss.downcast_index(self._index.index)
        n = inner.ntotal
        if not n:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return faiss.rev_swig_ptr(inner.get_xb(), n * self.dimension).reshape(n, self.dimension)

    def _new_index(self, kind: str):
        if kind == "hnsw":
            inner = faiss.IndexHNSWFlat(self.dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            inner.hnsw.efSearch = HNSW_EF_SEARCH
        else:
            inner = faiss.IndexFlatIP(self.dimension)
        return faiss.IndexIDMap2(inner)  # the Python wrapper keeps `inner` alive

    def _live(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of every live slot, in slot order."""
        inner = faiss.downcast_index(self._index.index)
        n = inner.ntotal
        ids = faiss.vector_to_array(self._index.id_map)
        vectors = inner.reconstruct_n(0, n) if n else np.zeros((0, self.dimension), dtype=np.float32)
        if self.approximate and self._dead_count:
            keep = ~np.unpackbits(self._dead, count=n, bitorder="little").astype(bool)
            ids, vectors = ids[keep], vectors[keep]
        return ids, vectors

    def _rebuild_as(self, kind: str) -> None:
        ids, vectors = self._live()
        self._set_index(self._new_index(kind))
        self._slot, self._dead, self._dead_count, self._live_bits = {}, np.zeros(0, dtype=np.uint8), 0, None
        self._append(ids, vectors)

    def _append(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        start = self._index.ntotal
        self._changed()
        faiss.omp_set_num_threads(_threads_for(len(ids)))
        try:
            self._index.add_with_ids(vectors, ids)
        finally:
            faiss.omp_set_num_threads(1)
        if self.approximate:
            for slot, pid in enumerate(ids.tolist(), start=start):
                self._slot[pid] = slot
            self._grow_dead(self._index.ntotal)

    def _grow_dead(self, n: int) -> None:
        size = (n + 7) // 8
        if len(self._dead) < size:
            self._dead = np.concatenate(
                [self._dead, np.zeros(max(size - len(self._dead), len(self._dead)), dtype=np.uint8)]
            )
        self._live_bits = None

    def _kill(self, slots: list[int]) -> None:
        for slot in slots:
            self._dead[slot >> 3] |= np.uint8(1 << (slot & 7))
        self._dead_count += len(slots)
        self._live_bits = None

    # ---- interface

    def __len__(self) -> int:
        with self._lock:
            if self.approximate:
                return len(self._slot)
            return self._index.ntotal

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add or replace vectors by id (re-adding an id replaces it instead of duplicating it)."""
        if len(ids) == 0:
            return
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids), self.dimension)
        with self._lock:
            if self.approximate:
                self._kill([self._slot.pop(pid) for pid in ids.tolist() if pid in self._slot])
            else:
                self._index.remove_ids(ids)
            self._append(ids, vectors)
            if self.kind == "auto" and not self.approximate and self._index.ntotal > self.exact_max:
                self._rebuild_as("hnsw")

    def remove(self, ids) -> None:
        ids = np.asarray(list(ids), dtype=np.int64)
        if not len(ids):
            return
        with self._lock:
            if self.approximate:
                self._kill([self._slot.pop(pid) for pid in ids.tolist() if pid in self._slot])
            else:
                self._index.remove_ids(ids)  # shifts the slots up
                self._changed()

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) per query row, best first; missing slots have id -1."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dimension)
        faiss.omp_set_num_threads(1)  # OpenMP's count is per thread: a new thread would start with one per core
        with self._lock:
            if len(self) == 0:
                n = len(vectors)
                return np.full((n, k), -np.inf, dtype=np.float32), np.full((n, k), -1, dtype=np.int64)
            inner = faiss.downcast_index(self._index.index)
            if not self.approximate:
                return self._exact_search(self._stored_vectors(), vectors, k)
            params = faiss.SearchParametersHNSW()
            params.efSearch = max(HNSW_EF_SEARCH, k)
            if self._dead_count:
                if self._live_bits is None:
                    self._live_bits = np.bitwise_not(self._dead)
                selector = faiss.IDSelectorBitmap(inner.ntotal, faiss.swig_ptr(self._live_bits))
                params.sel = selector
            scores, slots = inner.search(vectors, k, params=params)
            return scores, self._ids_of(slots)

    def _exact_search(self, stored: np.ndarray, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Every score by one matrix product in numpy (whose BLAS has kernels for this CPU, where the FAISS wheel's
        bundled BLAS does not), the top k by FAISS's heaps, a block of stored vectors at a time."""
        n = len(stored)
        top = np.empty((len(vectors), k), dtype=np.float32)
        slots = np.empty((len(vectors), k), dtype=np.int64)
        heaps = faiss.float_minheap_array_t()  # a min-heap of size k keeps the k largest; like IndexFlatIP,
        heaps.nh, heaps.k = len(vectors), k  # unfilled places come back as -FLT_MAX with slot -1
        heaps.val, heaps.ids = faiss.swig_ptr(top), faiss.swig_ptr(slots)
        heaps.heapify()
        for start in range(0, n, EXACT_BLOCK):  # bounded memory: queries x EXACT_BLOCK scores at a time
            scores = _scores(stored[start : start + EXACT_BLOCK], vectors)
            heaps.addn(scores.shape[1], faiss.swig_ptr(scores), start, 0, len(vectors))
        heaps.reorder()
        return top, self._ids_of(slots)

    def _ids_of(self, slots: np.ndarray) -> np.ndarray:
        if self._id_array is None:
            self._id_array = faiss.vector_to_array(self._index.id_map)
        ids = np.full(slots.shape, -1, dtype=np.int64)
        found = slots >= 0
        ids[found] = self._id_array[slots[found]]
        return ids

    def ids(self) -> set[int]:
        with self._lock:
            if self.approximate:
                return set(self._slot)
            return set(faiss.vector_to_array(self._index.id_map).tolist())

    def save(self, path: Path, knowledge_version: int, adapter: str | None = None) -> None:
        """Write atomically: a crash leaves either the old file or the new one, never half of one. `adapter`: the
        key of the adapter its vectors went through (`knowledge/adapter.py`), noted beside it."""
        path = Path(path)
        tmp = path.with_suffix(".tmp")
        meta = path.with_suffix(".json")
        meta_tmp = meta.with_suffix(".json.tmp")
        for private in (tmp, meta_tmp):  # 0600 like the database beside them, whatever the umask
            os.close(os.open(private, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
            os.chmod(private, 0o600)
        with self._lock:
            if self.approximate and self._dead_count > COMPACT_FRACTION * max(self._index.ntotal, 1):
                self._rebuild_as("hnsw")
            # Straight to the file: serialising into memory first would double the peak RSS at 1M vectors.
            faiss.write_index(self._index, str(tmp))
            size = len(self)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        meta_tmp.write_text(json.dumps({"knowledge_version": knowledge_version, "size": size, "adapter": adapter}))
        os.replace(meta_tmp, meta)

    @classmethod
    def load(cls, path: Path, dimension: int, kind: str | None = None, exact_max: int = 50_000) -> VectorIndex:
        """Raises if the file is missing, unreadable or of another shape. `kind` None keeps the file's kind;
        otherwise a file of another kind is converted (auto never turns an approximate index back to flat)."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(path)
        index = faiss.read_index(str(path))
        if index.d != dimension or not isinstance(index, faiss.IndexIDMap2):
            raise ValueError(f"index file {path} has dimension {index.d}, expected {dimension}")
        file_kind = "hnsw" if isinstance(faiss.downcast_index(index.index), faiss.IndexHNSW) else "flat"
        kind = kind or file_kind
        loaded = cls(dimension, kind, exact_max)
        loaded._set_index(index)
        if loaded.approximate:
            id_map = faiss.vector_to_array(index.id_map)
            loaded._slot = {pid: slot for slot, pid in enumerate(id_map.tolist())}  # last slot of an id wins
            loaded._grow_dead(index.ntotal)
            dead = sorted(set(range(index.ntotal)) - set(loaded._slot.values()))
            loaded._kill(dead)
        wanted = kind if kind != "auto" else ("hnsw" if len(loaded) > exact_max else "flat")
        if wanted != ("hnsw" if loaded.approximate else "flat") and not (kind == "auto" and loaded.approximate):
            loaded._rebuild_as(wanted)
        return loaded

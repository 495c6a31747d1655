"""Build the embedder that `KB_EMBEDDER_BACKEND` names. Both backends give the same vectors."""

from __future__ import annotations

from kb_service.config import Settings
from kb_service.embedding import Embedder


def make_embedder(settings: Settings) -> Embedder:
    if settings.embedder_backend == "onnx":
        from kb_service.embedding.onnx_backend import OnnxEmbedder

        return OnnxEmbedder(model_path=settings.onnx_model_path)
    from kb_service.embedding.torch_backend import TorchEmbedder

    return TorchEmbedder()

"""The onnxruntime backend (the default) gives the torch model's vectors (cosine >= 0.999 on CLINC150 queries)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kb_service.embedding import DIMENSION, MODEL_NAME
from kb_service.embedding.factory import make_embedder
from kb_service.embedding.onnx_backend import OnnxEmbedder
from kb_service.embedding.torch_backend import TorchEmbedder
from tests.support import CLINC150, make_settings


@pytest.fixture(scope="module")
def onnx_path(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("onnx") / "minilm.onnx"


@pytest.fixture(scope="module")
def onnx_embedder(onnx_path) -> OnnxEmbedder:
    return OnnxEmbedder(model_path=onnx_path)  # exported from the packaged weights on first use


@pytest.fixture(scope="module")
def torch_embedder() -> TorchEmbedder:
    return TorchEmbedder()


def test_onnx_matches_torch_on_clinc150_queries(torch_embedder, onnx_embedder):
    data = json.loads(CLINC150.read_text())
    queries = [text for text, _ in data["test"]][::5] + [text for text, _ in data["oos_test"]][::10]
    torch_vectors, onnx_vectors = torch_embedder.embed(queries), onnx_embedder.embed(queries)
    assert onnx_vectors.shape == torch_vectors.shape == (len(queries), DIMENSION)
    assert onnx_vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(onnx_vectors, axis=1), 1.0, atol=1e-5)
    cosines = (torch_vectors * onnx_vectors).sum(axis=1)
    assert cosines.min() >= 0.999
    # Batch order and padding don't change a vector: one at a time gives the same rows.
    one_by_one = np.concatenate([onnx_embedder.embed([q]) for q in queries[:5]])
    assert np.allclose(onnx_embedder.embed(queries[:5]), one_by_one, atol=1e-5)


def test_onnx_keeps_the_model_name_so_stored_vectors_stay_valid(onnx_embedder, torch_embedder):
    assert onnx_embedder.model_name == torch_embedder.model_name == MODEL_NAME
    assert onnx_embedder.embed([]).shape == (0, DIMENSION)


def test_the_setting_chooses_the_backend(tmp_path, onnx_path):
    chosen = make_embedder(make_settings(tmp_path, KB_EMBEDDER_BACKEND="onnx", KB_ONNX_MODEL_PATH=onnx_path))
    assert isinstance(chosen, OnnxEmbedder)
    with pytest.raises(ValueError):
        make_settings(tmp_path, KB_EMBEDDER_BACKEND="tensorflow")


def test_service_answers_the_same_with_either_backend(make_client, tmp_path, onnx_path):
    """Two services, each building its own embedder from KB_EMBEDDER_BACKEND (no shared test model)."""
    questions = ["when are you open?", "how much is a women's haircut", "do you fix cars?"]
    clients = {
        backend: make_client(
            shared_model=False, data_dir=tmp_path / backend, KB_EMBEDDER_BACKEND=backend, KB_ONNX_MODEL_PATH=onnx_path
        )
        for backend in ("torch", "onnx")
    }
    assert isinstance(clients["torch"].app.state.runtime.embedder, TorchEmbedder)
    assert isinstance(clients["onnx"].app.state.runtime.embedder, OnnxEmbedder)
    outcomes = set()
    for question in questions:
        a, b = (clients[backend].post("/api/ask", json={"question": question}).json() for backend in ("torch", "onnx"))
        assert (a["outcome"], a["knowledge_id"]) == (b["outcome"], b["knowledge_id"])
        assert abs(a["score"] - b["score"]) < 1e-3
        outcomes.add(a["outcome"])
    assert outcomes == {"answered", "escalated"}

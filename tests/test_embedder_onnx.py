"""The onnxruntime backend gives the torch model's vectors (cosine >= 0.999 on CLINC150 queries)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kb_service.embedding import Embedder, make_embedder
from kb_service.embedding.onnx_backend import OnnxEmbedder
from tests.support import make_settings

CLINC = Path("/work/shared/eval/clinc150/data_full.json")


@pytest.fixture(scope="module")
def onnx_path(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("onnx") / "minilm.onnx"


@pytest.fixture(scope="module")
def onnx_embedder(onnx_path) -> OnnxEmbedder:
    return OnnxEmbedder(model_path=onnx_path)  # exported from the packaged weights on first use


def test_onnx_matches_torch_on_clinc150_queries(embedder, onnx_embedder):
    data = json.loads(CLINC.read_text())
    queries = [text for text, _ in data["test"]][::15] + [text for text, _ in data["oos_test"]][::10]
    torch_vectors, onnx_vectors = embedder.embed(queries), onnx_embedder.embed(queries)
    assert onnx_vectors.shape == torch_vectors.shape == (len(queries), 384)
    assert onnx_vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(onnx_vectors, axis=1), 1.0, atol=1e-5)
    cosines = (torch_vectors * onnx_vectors).sum(axis=1)
    assert cosines.min() >= 0.999
    # Batch order and padding don't change a vector: one at a time gives the same rows.
    assert np.allclose(onnx_embedder.embed(queries[:5]), [onnx_embedder.embed_one(q) for q in queries[:5]], atol=1e-5)


def test_onnx_keeps_the_model_name_so_stored_vectors_stay_valid(onnx_embedder):
    assert onnx_embedder.model_name == Embedder.model_name
    assert onnx_embedder.embed([]).shape == (0, 384)


def test_the_setting_chooses_the_backend(tmp_path, onnx_path):
    chosen = make_embedder(make_settings(tmp_path, KB_EMBEDDER_BACKEND="onnx", KB_ONNX_MODEL_PATH=onnx_path))
    assert isinstance(chosen, OnnxEmbedder)
    with pytest.raises(ValueError):
        make_settings(tmp_path, KB_EMBEDDER_BACKEND="tensorflow")


def test_service_answers_the_same_with_either_backend(make_client, tmp_path, onnx_path):
    questions = ["when are you open?", "how much is a women's haircut", "do you fix cars?"]
    torch_client = make_client()
    onnx_client = make_client(data_dir=tmp_path / "onnx", KB_EMBEDDER_BACKEND="onnx", KB_ONNX_MODEL_PATH=onnx_path)
    for question in questions:
        a = torch_client.post("/api/ask", json={"question": question}).json()
        b = onnx_client.post("/api/ask", json={"question": question}).json()
        assert (a["outcome"], a["knowledge_id"]) == (b["outcome"], b["knowledge_id"])
        assert abs(a["score"] - b["score"]) < 1e-3

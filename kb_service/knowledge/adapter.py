"""The knowledge base's adapter: a d×d matrix fitted to its own phrasings (`train`, judged by `matching/tuning.py`),
through which answering compares every vector, the question's and the phrasings'. Stored vectors stay as the
model wrote them; the index and the centroids hold them projected, and a question is projected before it is
searched.

Kept in the `meta` table: 'adapter' (its key, the model it was fitted on and the thresholds its cross-fitted
self-test set) and 'adapter_weight' (the matrix). No adapter: vectors are compared as the model wrote them."""

from __future__ import annotations

import base64
import json
import math
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from kb_service.knowledge.caches import Centroids
from kb_service.knowledge.index import VectorIndex
from kb_service.storage.schema import read_meta, read_meta_record, write_meta
from kb_service.storage.store import Store, Tx

META_KEY, WEIGHT_KEY = "adapter", "adapter_weight"
SCALE, LR, EPOCHS, BATCH, MIN_STEPS = 20.0, 1e-3, 10, 32, 30  # chosen and measured in docs/quality.md
MAX_PAIRS = 20_000  # same-entry pairs trained on an epoch at most
YIELD_EVERY = 20  # training steps between pauses for callers


@dataclass(frozen=True)
class Thresholds:
    """What the adapter's cross-fitted self-test set (`matching/tuning.py`), stored beside it."""

    key: str  # changes with every new adapter: what replicas and the saved index compare
    model: str  # the embedder's model name it was fitted on; another model's vectors ignore it
    threshold: float
    confirm_threshold: float


class Adapter:
    def __init__(self, settings: Thresholds, weight: np.ndarray):
        self.settings = settings
        self.key = settings.key
        self.weight = np.ascontiguousarray(weight, dtype=np.float32)

    def project(self, vectors: np.ndarray) -> np.ndarray:
        """Rows through the matrix, back to unit length (float32, contiguous)."""
        projected = np.asarray(vectors, dtype=np.float32).reshape(-1, self.weight.shape[1]) @ self.weight.T
        norms = np.linalg.norm(projected, axis=1, keepdims=True)
        return np.ascontiguousarray(projected / np.clip(norms, 1e-12, None), dtype=np.float32)


@dataclass(frozen=True)
class Space:
    """What answering compares a question with, all through one adapter (or none): the index and the centroids.
    With an adapter, `plain` holds the same phrasings as the model wrote them, for the matcher's second opinion.
    Replaced whole when the adapter changes, so an ask that took it never mixes two projections."""

    adapter: Adapter | None
    index: VectorIndex
    centroids: Centroids
    plain: Space | None = None

    def project(self, vectors: np.ndarray) -> np.ndarray:
        return vectors if self.adapter is None else self.adapter.project(vectors)

    @property
    def key(self) -> str | None:
        return None if self.adapter is None else self.adapter.key

    def layers(self) -> list[Space]:
        """This space and its plain one, each kept equal to the phrasings."""
        return [self] if self.plain is None else [self, self.plain]

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add phrasings by id, `vectors` as the model wrote them."""
        for layer in self.layers():
            layer.index.add(ids, layer.project(vectors))

    def remove(self, ids) -> None:
        ids = list(ids)
        for layer in self.layers():
            layer.index.remove(ids)

    def recount(self, knowledge_ids: set[int]) -> None:
        for layer in self.layers():
            layer.centroids.recount(knowledge_ids)


def thresholds(store: Store) -> Thresholds | None:
    """The stored adapter's thresholds (cheap: the matrix is not read)."""
    return read_meta_record(store, META_KEY, Thresholds)


def stored_key(store: Store, model: str) -> str | None:
    """The key of the stored adapter fitted on `model`'s vectors (None: there is none)."""
    settings = thresholds(store)
    return settings.key if settings is not None and settings.model == model else None


def saved_with(index_path: Path) -> str | None:
    """The key of the adapter a saved index file's vectors went through (None: none, or the file does not say)."""
    try:
        return json.loads(index_path.with_suffix(".json").read_text()).get("adapter")
    except (OSError, ValueError, AttributeError):
        return None


def load(store: Store, model: str) -> Adapter | None:
    """The stored adapter, if it was fitted on vectors of `model`."""
    settings = thresholds(store)
    if settings is None or settings.model != model:
        return None
    raw = read_meta(store, WEIGHT_KEY)
    if not raw:
        return None
    flat = np.frombuffer(base64.b64decode(raw), dtype=np.float32)
    side = int(round(len(flat) ** 0.5))
    if side * side != len(flat):
        return None
    return Adapter(settings, flat.reshape(side, side))


def save(tx: Tx, adapter: Adapter | None) -> None:
    """Store `adapter`, or drop the stored one (None)."""
    write_meta(tx, META_KEY, None if adapter is None else json.dumps(asdict(adapter.settings)))
    write_meta(tx, WEIGHT_KEY, None if adapter is None else base64.b64encode(adapter.weight.tobytes()).decode("ascii"))


def train(vectors: np.ndarray, groups: list[list[int]], seed: int, yield_to: Callable[[], object]) -> np.ndarray:
    """The adapter's matrix: from the identity, Adam on one thread, pairs of rows of `vectors` in one group."""
    import torch  # only here: the service never loads torch unless it tunes
    import torch.nn.functional as F

    pairs = [(a, b, g) for g, rows in enumerate(groups) for a in rows for b in rows if a != b]
    if not pairs:
        return np.eye(vectors.shape[1], dtype=np.float32)
    rng = random.Random(seed)
    per_epoch = min(len(pairs), MAX_PAIRS)
    epochs = max(EPOCHS, math.ceil(MIN_STEPS / math.ceil(per_epoch / BATCH)))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the other core stays with the callers
    try:
        torch.manual_seed(seed)
        data = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32))
        weight = torch.eye(data.shape[1], requires_grad=True)
        optimiser = torch.optim.Adam([weight], lr=LR)
        step = 0
        for _ in range(epochs):
            order = rng.sample(pairs, per_epoch)
            for start in range(0, per_epoch, BATCH):
                batch = order[start : start + BATCH]
                anchors = F.normalize(data[[a for a, _, _ in batch]] @ weight.T, dim=-1)
                positives = F.normalize(data[[b for _, b, _ in batch]] @ weight.T, dim=-1)
                label = torch.tensor([g for _, _, g in batch])
                same = (label[:, None] == label[None, :]) & ~torch.eye(len(batch), dtype=torch.bool)
                scores = (SCALE * anchors @ positives.T).masked_fill(same, float("-inf"))  # not a negative
                loss = F.cross_entropy(scores, torch.arange(len(batch)))
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                step += 1
                if step % YIELD_EVERY == 0:
                    yield_to()
        return weight.detach().numpy().copy()
    finally:
        torch.set_num_threads(threads)

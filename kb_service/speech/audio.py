"""The caller's recording, as the browser sends it (WAV, WebM or Ogg), decoded to 16 kHz mono for Whisper."""

from __future__ import annotations

import io

import av
import numpy as np

from kb_service.errors import DomainError

SAMPLE_RATE = 16_000
MAX_SECONDS = 15.0
MAX_BYTES = 1024 * 1024
MEDIA_TYPES = {"audio/wav", "audio/wave", "audio/x-wav", "audio/vnd.wave", "audio/webm", "audio/ogg"}


class NotAudio(DomainError):
    status_code = 415


class UndecodableAudio(DomainError):
    status_code = 422


class AudioTooLong(DomainError):
    status_code = 413


def check_media_type(content_type: str | None) -> None:
    """Raises NotAudio unless the Content-Type is one the call page records (parameters such as codecs allowed)."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type not in MEDIA_TYPES:
        raise NotAudio(
            f"the body must be audio/wav, audio/webm or audio/ogg, not {media_type or 'unlabelled'} (set Content-Type)"
        )


def decode(data: bytes) -> np.ndarray:
    """16 kHz mono float32 samples; AudioTooLong past MAX_SECONDS (found while decoding, so a long file is not
    decoded in full), UndecodableAudio for anything FFmpeg cannot read as audio."""
    if not data:
        raise UndecodableAudio("the body is empty: send the recorded audio")
    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    chunks: list[np.ndarray] = []
    samples = 0
    try:
        with av.open(io.BytesIO(data), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise UndecodableAudio("the body has no audio stream")
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
                    samples += chunks[-1].size
                if samples > MAX_SECONDS * SAMPLE_RATE:
                    raise AudioTooLong(f"the recording is longer than {MAX_SECONDS:g} s")
            for out in resampler.resample(None):  # what the resampler still holds
                chunks.append(out.to_ndarray().reshape(-1))
    except (av.error.FFmpegError, ValueError, IndexError, EOFError, UnicodeDecodeError):
        raise UndecodableAudio(
            "the audio could not be decoded: send WAV, WebM or Ogg as the browser records it"
        ) from None
    if not chunks:
        raise UndecodableAudio("the audio could not be decoded: it holds no samples")
    audio = np.concatenate(chunks).astype(np.float32) / 32768.0
    if audio.size > MAX_SECONDS * SAMPLE_RATE:
        raise AudioTooLong(f"the recording is longer than {MAX_SECONDS:g} s")
    return audio

"""Real speech for the voice tests: salon questions spoken by espeak-ng, as 16 kHz mono WAV files (sox), each with
a second of silence after it. `scripts/install-audio` installs both (make test runs it)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

# (espeak-ng voice, words a minute): a US and a British voice, and a faster female US voice.
VOICES = [("en-us", 150), ("en-gb", 140), ("en-us+f3", 170)]
QUESTIONS = [
    "What are your opening hours?",
    "Where are you located?",
    "How much is a haircut?",
    "Do you do balayage?",
    "Can I pay by card?",
    "Is there parking nearby?",
    "Do you take walk-ins?",
    "How much are highlights?",
]


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is missing: run scripts/install-audio (make test does)"
    return path


def speak(text: str, path: Path, voice: str = "en-us", speed: int = 150, before: float = 0.5, after: float = 1.0):
    """`text` spoken into `path` (16 kHz mono 16-bit WAV), with `before` / `after` seconds of silence around it."""
    raw = path.with_suffix(".raw.wav")
    subprocess.run([_tool("espeak-ng"), "-v", voice, "-s", str(speed), "-w", str(raw), text], check=True)
    subprocess.run(
        [_tool("sox"), str(raw), "-r", "16000", "-c", "1", "-b", "16", str(path), "pad", str(before), str(after)],
        check=True,
    )
    raw.unlink()
    return path


def join(parts: list[Path], path: Path) -> Path:
    """The files one after another in one WAV."""
    subprocess.run([_tool("sox"), *map(str, parts), str(path)], check=True)
    return path


def convert(source: Path, path: Path) -> Path:
    """The same audio in another container and codec, chosen by `path`'s suffix (such as .ogg: Ogg Vorbis)."""
    subprocess.run([_tool("sox"), str(source), str(path)], check=True)
    return path


def normalise(text: str) -> str:
    """Lower case words without punctuation, for the word error rate (jiwer)."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower().replace("'", "")))

"""Real speech for the voice tests and `bench.voice`: salon questions spoken by espeak-ng, as 16 kHz mono WAV files
(sox), each with silence around it; and the same clips as a caller's phone would carry them: room noise, then the
telephone band. `scripts/install-audio` installs both (make test runs it). Nothing here is committed audio."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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


# Questions a salon's callers ask that the demo knowledge base does not answer: they escalate to the supervisor, who
# reads them as heard. Their words are not in the decoder's reach from the knowledge base.
OUTSIDE_QUESTIONS = [
    "Do you offer eyelash extensions?",
    "Can I bring my dog to the salon?",
    "Are your hair products vegan?",
    "Do you cut children's hair on Sundays?",
    "Is the salon wheelchair accessible?",
    "Can I get a perm next Thursday?",
    "Do you have a stylist who speaks Spanish?",
    "How long does a keratin treatment last?",
    "Do you do beard trims for men?",
    "Can my sister and I come in together?",
    "Do you sell shampoo for curly hair?",
    "What should I do if I am running late?",
]
# More of the knowledge base's own questions, as callers put them: with QUESTIONS, as many as OUTSIDE_QUESTIONS.
MORE_QUESTIONS = [
    "What time do you close today?",
    "How much is balayage?",
    "Do you do hair colouring?",
    "What is your cancellation policy?",
]
# Voices and speeds other than VOICES: a Scottish voice, a slow Caribbean one, a fast one with another timbre.
MORE_VOICES = [("en-gb-scotland", 160), ("en-029", 130), ("en-us+m3", 185)]
LOUD = 300  # of 32768: about -40 dBFS, where the words begin and end
CONDITIONS = ("clean", "noise", "phone")  # as spoken; with room noise; with room noise through the telephone band


@dataclass(frozen=True)
class Clip:
    question: str
    in_kb: bool
    voice: str
    condition: str
    path: Path
    speech_starts: float  # seconds from the start of the file to the first word
    speech_ends: float  # and to the end of the last


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


def degrade(source: Path, path: Path, condition: str) -> Path:
    """`source` as heard in `condition`: "noise" mixes in brown noise (a room, about 25 dB below the voice), "phone"
    also keeps only the telephone band (300-3400 Hz); "clean" is a copy. The noise is the same on every run (sox
    -R seeds its generators), so a word error rate measured on these clips does not move from run to run."""
    if condition == "clean":
        subprocess.run([_tool("sox"), str(source), str(path)], check=True)
        return path
    seconds = subprocess.run([_tool("soxi"), "-D", str(source)], check=True, capture_output=True, text=True).stdout
    noise = f"|{_tool('sox')} -R -n -r 16000 -c 1 -p synth {seconds.strip()} brownnoise vol 0.05"
    band = ["sinc", "300-3400"] if condition == "phone" else []
    subprocess.run([_tool("sox"), "-R", "-m", str(source), noise, "-b", "16", str(path), *band], check=True)
    return path


def speech_bounds(path: Path) -> tuple[float, float]:
    """Seconds from the start of a WAV made by `speak` to where its words begin and end (louder than about
    -40 dBFS: espeak-ng's own quiet around them is not counted)."""
    samples = np.frombuffer(path.read_bytes()[44:], dtype=np.int16)
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > LOUD)
    assert loud.size, f"{path} holds no speech"
    return float(loud[0]) / 16000, float(loud[-1] + 1) / 16000


def salon_clips(
    folder: Path,
    voices=VOICES + MORE_VOICES,
    conditions=CONDITIONS,
    before: float = 0.3,
    after: float = 0.7,
) -> list[Clip]:
    """Every question (half of them in the demo knowledge base, half outside it) in every voice and condition."""
    questions = [(q, True) for q in QUESTIONS + MORE_QUESTIONS] + [(q, False) for q in OUTSIDE_QUESTIONS]
    clips = []
    for voice, speed in voices:
        for n, (question, in_kb) in enumerate(questions):
            clean = speak(question, folder / f"{voice}-{n}-clean.wav", voice, speed, before, after)
            starts, ends = speech_bounds(clean)
            for condition in conditions:
                path = (
                    clean
                    if condition == "clean"
                    else degrade(clean, folder / f"{voice}-{n}-{condition}.wav", condition)
                )
                clips.append(Clip(question, in_kb, voice, condition, path, starts, ends))
    return clips

"""Hearing: decoding settings for the recogniser compared on the same spoken questions, paired clip by clip.

    .venv/bin/python -m bench.hearing [--outside 24] [--inside 16] [--voices-per-question 2] [--after 0.7]
                                      [--settings a,b,...]

The clips are built at run time (espeak-ng, sox; tests/speech_support.py): questions a salon's or a clinic's
callers ask that the demo knowledge base does not answer (none of them in the tests or bench.voice), and the demo
knowledge base's own phrasings. Each question is heard clean, with room noise and through the telephone band, in
--voices-per-question voices (outside the knowledge base; one inside), the voices taking turns over eight espeak-ng
voices and speeds. Every setting decodes every clip with the same model (tiny.en, all the cores), the settings in a
rotating order per clip; decode times are paired per clip.

Word error rate is the corpus rate (jiwer) per condition, inside and outside the knowledge base. The reference is
plain faster-whisper: beam 5, no prompt, no VAD, default threads. "service" is `recognizer.hear` as shipped, on the
service's model (`recognizer.Whisper`: the encoder over the recording, at least 15 s); "service-10s" and
"service-20s" the same with another shortest window; every other setting runs on faster-whisper as it ships
(30 s windows), "service-30s" being the service's decoding there. `--after 0.24` ends each clip as the call page
cuts a sentence it sends early (0.24 s of quiet after the words).
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import jiwer

from bench import common
from kb_service.speech.audio import decode
from kb_service.speech.recognizer import Whisper, hear, load_model, model_dir, plain_model
from kb_service.speech.vocabulary import build_prompt
from tests.speech_support import CONDITIONS, OUTSIDE_QUESTIONS, QUESTIONS, degrade, normalise, speak

DEMO = common.ROOT / "kb_service" / "demo" / "salon.jsonl"
BUSINESS = "Bella Hair Studio"  # the demo's KB_BUSINESS_NAME
VOICES = [
    ("en-us", 150),
    ("en-gb", 140),
    ("en-us+f3", 170),
    ("en-029", 130),
    ("en-us+m3", 185),
    ("en-gb-scotland", 160),
    ("en-gb-x-rp", 145),
    ("en-us-nyc", 165),
]
# Callers of a salon or a clinic, asking what the demo knowledge base does not answer.
FRESH_OUTSIDE = [
    "Do you have any appointments left this Saturday morning?",
    "Can you fix a colour that another salon got wrong?",
    "Is it possible to book a manicure and a pedicure at the same time?",
    "Do you do hair extensions with clip-ins?",
    "How early should I arrive before my appointment?",
    "Do you give gift vouchers for birthdays?",
    "Can I see photos of your previous wedding work?",
    "Will the dye irritate a sensitive scalp?",
    "Does the dentist see patients on Friday evenings?",
    "Do I need a referral from my doctor?",
    "Can you send my prescription to the pharmacy?",
    "Is the flu vaccine available this month?",
    "What should I bring to my first physiotherapy session?",
    "Do you accept my insurance from my employer?",
    "Can I change my appointment to next Wednesday?",
    "Is there a nurse I could talk to about my blood test?",
    "Do you treat teenagers with acne?",
    "How long is the waiting list for a new patient?",
    "Can my husband wait in the room during the treatment?",
    "Do you offer a discount for students or seniors?",
    "Is there a lift to the second floor?",
    "Could somebody call me back after five o'clock?",
    "Do you sell the conditioner you used last time?",
    "My daughter has nut allergies, is the waiting room safe?",
    "Are the massage therapists licensed?",
    "Can I pay the deposit online?",
    "What happens if I cancel on the same day?",
    "Do you have a female doctor available tomorrow?",
]


def decoder(**options) -> Callable:
    """A setting: faster-whisper's transcribe with these options (a `prompt` key names the prompt to use)."""

    def run(model, audio, prompts: dict[str, str]) -> str:
        kwargs = dict(options)
        prompt = kwargs.pop("prompt", None)
        hot = kwargs.pop("hotwords", None)
        segments, _ = model.transcribe(
            audio,
            initial_prompt=prompts[prompt] if prompt else None,
            hotwords=prompts[hot] if hot else None,
            **kwargs,
        )
        return " ".join(segment.text.strip() for segment in segments).strip()

    return run


SERVICE = dict(language="en", beam_size=5, condition_on_previous_text=False, without_timestamps=True)
# "kb" is the prompt as the service builds it (the KB's words, then the greeting); "kbfirst" the greeting first.
SETTINGS: dict[str, Callable] = {
    "plain": decoder(beam_size=5),
    "service": lambda model, audio, prompts: hear(load_model(model_dir(), 0), audio, prompts["kb"]),
    "service-30s": lambda model, audio, prompts: hear(model, audio, prompts["kb"]),
    "service-10s": lambda model, audio, prompts: hear(window(1000), audio, prompts["kb"]),
    "service-20s": lambda model, audio, prompts: hear(window(2000), audio, prompts["kb"]),
    "kbfirst-vad": decoder(prompt="kbfirst", vad_filter=True, **SERVICE),
    "kbfirst-novad": decoder(prompt="kbfirst", **SERVICE),
    "kbfirst40-vad": decoder(prompt="kbfirst40", vad_filter=True, **SERVICE),
    "greeting-vad": decoder(prompt="greeting", vad_filter=True, **SERVICE),
    "greeting-novad": decoder(prompt="greeting", **SERVICE),
    "hotwords-vad": decoder(hotwords="words", vad_filter=True, **SERVICE),
    "kbfirst-vad-t0": decoder(prompt="kbfirst", vad_filter=True, temperature=0.0, **SERVICE),
    "kbfirst-vad-chunk10": decoder(prompt="kbfirst", vad_filter=True, chunk_length=10, **SERVICE),
    "kb-vad": decoder(prompt="kb", vad_filter=True, **SERVICE),
    "kbgreet-vad": decoder(prompt="kbgreet", vad_filter=True, **SERVICE),
    "kb-vad-norep3": decoder(prompt="kb", vad_filter=True, no_repeat_ngram_size=3, **SERVICE),
    "kb-vad-chunk10": decoder(prompt="kb", vad_filter=True, chunk_length=10, **SERVICE),
    "none-vad": decoder(vad_filter=True, **SERVICE),
}


@functools.cache
def window(frames: int) -> Whisper:
    """The service's model with another shortest window for the encoder (100 frames a second)."""
    return Whisper(model_dir(), device="cpu", compute_type="int8", window_frames=frames)


def prompts(model) -> dict[str, str]:
    """The demo knowledge base's prompt as the service builds it, the same words with the greeting first (at 100 and
    at 40 tokens), the greeting alone, and the words alone (for `hotwords`)."""
    entries = [json.loads(line) for line in DEMO.read_text().splitlines() if line.strip()]
    answers, questions = [e["answer"] for e in entries], [q for e in entries for q in e["questions"]]

    def count(texts):
        return [len(e.ids) for e in model.hf_tokenizer.encode_batch(texts, add_special_tokens=False)]

    greeting = f"Hi, thanks for calling {BUSINESS}."
    kb = build_prompt(BUSINESS, answers, questions, count)
    listed = kb.split(f". {greeting}")[0]
    listed40 = build_prompt(BUSINESS, answers, questions, count, tokens=40).split(f". {greeting}")[0]
    return {
        "kb": kb,
        "kbfirst": f"{greeting} {listed}.",
        "kbfirst40": f"{greeting} {listed40}.",
        "kbgreet": f"{listed}. {greeting}",
        "greeting": greeting,
        "words": f"{listed}.",
    }


def inside_questions(n: int) -> list[str]:
    """n of the demo knowledge base's phrasings, spread over its entries, not the ones tests/speech_support.py says."""
    entries = [json.loads(line) for line in DEMO.read_text().splitlines() if line.strip()]
    spoken = set(QUESTIONS) | set(OUTSIDE_QUESTIONS)
    pool = [q for e in entries for q in e["questions"] if q not in spoken]
    step = max(1, len(pool) // n)
    return pool[::step][:n]


def build(folder: Path, outside: int, inside: int, per_question: int, after: float = 0.7) -> list[dict]:
    """The clips: each question in every condition, in `per_question` voices (one inside), voices taking turns."""
    questions = [(q, False) for q in FRESH_OUTSIDE[:outside]] + [(q, True) for q in inside_questions(inside)]
    clips, turn = [], 0
    for n, (question, in_kb) in enumerate(questions):
        for _ in range(1 if in_kb else per_question):
            voice, speed = VOICES[turn % len(VOICES)]
            turn += 1
            clean = speak(question, folder / f"{n}-{voice}-clean.wav", voice, speed, 0.3, after)
            for condition in CONDITIONS:
                path = (
                    clean
                    if condition == "clean"
                    else degrade(clean, folder / f"{n}-{voice}-{condition}.wav", condition)
                )
                clips.append(dict(question=question, in_kb=in_kb, voice=voice, condition=condition, path=path))
    return clips


def wer(pairs: list[tuple[str, str]]) -> float:
    return jiwer.wer([normalise(r) for r, _ in pairs], [normalise(h) for _, h in pairs]) if pairs else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--outside", type=int, default=24, help=f"questions outside the KB (up to {len(FRESH_OUTSIDE)})"
    )
    parser.add_argument("--inside", type=int, default=16, help="phrasings of the demo knowledge base")
    parser.add_argument("--voices-per-question", type=int, default=2, help="voices each outside question is spoken in")
    parser.add_argument("--after", type=float, default=0.7, help="seconds of quiet after the words in each clip")
    parser.add_argument("--settings", default=",".join(SETTINGS), help="comma-separated: " + ", ".join(SETTINGS))
    args = parser.parse_args()
    names = args.settings.split(",")
    if "plain" not in names or any(name not in SETTINGS for name in names):
        raise SystemExit(f"--settings: plain and any of {', '.join(SETTINGS)}")
    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        raise SystemExit("bench.hearing needs espeak-ng and sox: run scripts/install-audio")
    model = plain_model(model_dir())
    texts = prompts(model)
    heard: dict[str, list[str]] = {name: [] for name in names}
    took: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as tmp:
        clips = build(Path(tmp), args.outside, args.inside, args.voices_per_question, args.after)
        for clip in clips[:3]:  # warm-up
            SETTINGS["plain"](model, decode(clip["path"].read_bytes()), texts)
        for n, clip in enumerate(clips):
            audio = decode(clip["path"].read_bytes())
            clip["seconds"] = round(audio.size / 16000, 2)
            for name in names[n % len(names) :] + names[: n % len(names)]:
                started = time.perf_counter()
                heard[name].append(SETTINGS[name](model, audio, texts))
                took[name].append(time.perf_counter() - started)
            if n % 24 == 23:
                print(f"{n + 1}/{len(clips)} clips", flush=True)

    table = {}
    for name in names:
        row: dict[str, float | None] = {}
        for where, in_kb in (("outside", False), ("inside", True)):
            for condition in (*CONDITIONS, "all"):
                pairs = [
                    (c["question"], heard[name][n])
                    for n, c in enumerate(clips)
                    if c["in_kb"] == in_kb and condition in (c["condition"], "all")
                ]
                row[f"{where} {condition}"] = round(wer(pairs), 3)
        row["decode ms p50"] = round(statistics.median(took[name]) * 1000)
        row["paired time ratio to plain, median"] = round(
            statistics.median(t / b for t, b in zip(took[name], took["plain"])), 3
        )
        row["paired time ratio to kbfirst-vad, median"] = (
            round(statistics.median(t / b for t, b in zip(took[name], took["kbfirst-vad"])), 3)
            if "kbfirst-vad" in took
            else None
        )
        table[name] = row
    columns = list(next(iter(table.values())))
    print("| setting | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for name, row in table.items():
        print(f"| {name} | " + " | ".join(str(row[c]) for c in columns) + " |")
    common.RESULTS.mkdir(parents=True, exist_ok=True)
    name = "hearing.json" if args.after == 0.7 else f"hearing-after-{args.after:g}.json"
    (common.RESULTS / name).write_text(
        json.dumps(
            {
                "command": f".venv/bin/python -m bench.hearing --outside {args.outside} --inside {args.inside}"
                f" --voices-per-question {args.voices_per_question} --after {args.after} --settings {args.settings}",
                "machine": common.machine(),
                "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "prompts": texts,
                "table": table,
                "clips": [
                    {
                        **{k: v for k, v in clip.items() if k != "path"},
                        "heard": {name: heard[name][n] for name in names},
                        "ms": {name: round(took[name][n] * 1000) for name in names},
                    }
                    for n, clip in enumerate(clips)
                ],
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()

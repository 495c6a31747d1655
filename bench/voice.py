"""Voice: what the service hears, how soon it answers, and typed-ask throughput while callers speak.

    .venv/bin/python -m bench.voice [--rounds 2] [--clients 8] [--seconds 30] [--gap-questions 24]
                                    [--turns early,guess,silence]

The questions: 12 of the demo salon's knowledge base and 12 outside it (tests/speech_support.py), spoken by
espeak-ng in three voices in turn, built at run time. The reference is plain faster-whisper with the same tiny.en
model (beam 5, no prompt, default CPU threads), in this process.

Hearing. Word error rate of what the service heard (POST /api/transcribe) and of the plain model, on the questions
inside and outside the knowledge base.

Speech to answer. Each question as the call page sends it (0.3 s before the words, 0.7 s of quiet after) goes to
POST /api/transcribe and what was heard to POST /api/ask, over loopback; beside it, the plain model's decode of the
same audio. The two alternate question by question.

Throughput. wrk asks the demo salon from kept-alive connections for a window with nobody speaking, then for a
window while 2 callers each send a 3 s question every 3 s (as fast as one can speak), alternating for --rounds.

The caller's gap (bench/voice_gap.py). Chromium plays each question through its fake microphone into the real call
page; from the end of the words to the page starting to speak the reply. Beside it, the plain model's decode p50
plus the page's 0.7 s of quiet that ends a sentence: what the gap would be with nothing else in the way. Each way
of ending the caller's turn in --turns (agent_web/mic.js: "early" ends it on complete words, "guess" sends the
sentence after a short quiet but ends it on 0.7 s of quiet, "silence" sends it after 0.7 s of quiet) is played each
question in turn, and each is compared with the last of them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import threading
import time
from pathlib import Path

import httpx
import jiwer

from bench import common, voice_gap
from bench.throughput import wrk
from kb_service.speech.audio import decode
from kb_service.speech.recognizer import model_dir, plain_model
from tests.speech_support import VOICES, normalise, salon_clips

DEMO = Path(common.ROOT) / "kb_service" / "demo" / "salon.jsonl"
PER_SESSION = 20  # transcriptions per call session: the service allows 30 a minute to one session
SPEAKING_SECONDS = 3.0
PAGE_END_SILENCE = 0.7  # agent_web/mic.js END_SILENCE_MS: the quiet after which the page sends a sentence
TURNS = ("early", "guess", "silence")  # agent_web/mic.js TURN_TAKING


class Caller:
    """One call: a session, renewed every PER_SESSION recordings."""

    def __init__(self, url: str):
        self.http = httpx.Client(base_url=url, timeout=60)
        self.sent = 0
        self.session_id = ""
        self.headers: dict[str, str] = {}

    def transcribe(self, audio: bytes) -> str:
        if self.sent % PER_SESSION == 0:
            body = self.http.post("/api/sessions").raise_for_status().json()
            self.session_id, self.headers = body["session_id"], {"X-Session-Token": body["session_token"]}
        self.sent += 1
        response = self.http.post(
            f"/api/transcribe?session_id={self.session_id}",
            content=audio,
            headers={**self.headers, "content-type": "audio/wav"},
        )
        response.raise_for_status()
        return response.json()["text"]

    def ask(self, question: str) -> str:
        return self.http.post("/api/ask", json={"question": question}).raise_for_status().json()["message"]


def plain(model, audio: bytes) -> str:
    """faster-whisper as it comes: beam 5, no prompt, no VAD, default threads."""
    segments, _ = model.transcribe(decode(audio), beam_size=5)
    return " ".join(segment.text.strip() for segment in segments).strip()


def wer(references: list[str], heard: list[str]) -> float:
    return jiwer.wer([normalise(r) for r in references], [normalise(h) for h in heard])


def one_per_question(folder: Path, before: float, after: float):
    """Each question once, the voices taking turns (clean audio)."""
    every = salon_clips(folder, VOICES, ("clean",), before, after)
    per_voice = len(every) // len(VOICES)
    return [every[(n % len(VOICES)) * per_voice + n] for n in range(per_voice)]


def gap_figures(gaps: list[voice_gap.Gap]) -> dict:
    """Each gap and where its time went (ms from the end of the words), with the p50 of each step."""
    steps = {
        "gaps_ms": [gap.seconds for gap in gaps],
        "sent_ms": [gap.sent for gap in gaps],
        "transcribed_ms": [gap.transcribed for gap in gaps],
        "asked_ms": [gap.asked for gap in gaps],
    }
    return {
        **{name: [round(s * 1000) for s in values] for name, values in steps.items()},
        **{f"{name}_p50": round(common.pct(values, 50), 1) for name, values in steps.items()},
        "ended_by": [gap.ended_by for gap in gaps],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2, help="passes over the 24 questions; throughput rounds")
    parser.add_argument("--clients", type=int, default=8, help="wrk connections asking typed questions")
    parser.add_argument("--seconds", type=float, default=30, help="throughput: time under load, over all rounds")
    parser.add_argument("--gap-questions", type=int, default=24, help="questions played into the call page")
    parser.add_argument(
        "--turns",
        default=",".join(TURNS),
        help="ways of ending the caller's turn to compare, the first reported against the plain model: "
        + ", ".join(TURNS),
    )
    args = parser.parse_args()
    turns = tuple(args.turns.split(","))
    if not turns or any(turn not in TURNS for turn in turns):
        raise SystemExit(f"--turns: a comma-separated list of {', '.join(TURNS)}")
    if shutil.which("wrk") is None or shutil.which("espeak-ng") is None:
        raise SystemExit("bench.voice needs wrk, espeak-ng and sox: run `make bench-voice` (it installs them)")

    entries = [json.loads(line) for line in DEMO.read_text().splitlines() if line.strip()]
    phrasings = [q for e in entries for q in e["questions"]]
    reference = plain_model(model_dir())

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "sent").mkdir()
        (folder / "gap").mkdir()
        clips = one_per_question(folder / "sent", before=0.3, after=0.7)
        audios = [clip.path.read_bytes() for clip in clips]
        # The fake microphone plays the file once (%noloop); the quiet after the words outlasts the answer anyway.
        gap_clips = one_per_question(folder / "gap", before=1.0, after=5.0)
        bodies = folder / "bodies.txt"
        bodies.write_text("".join(json.dumps({"question": q}) + "\n" for q in phrasings))
        with common.Service(folder / "data", KB_DEMO="true") as service:
            caller = Caller(service.url)
            caller.transcribe(audios[0])  # waits for the model, which loads in the background after start

            def served(audio: bytes) -> tuple[float, str]:
                started = time.perf_counter()
                text = caller.transcribe(audio)
                caller.ask(text or "hello")
                return time.perf_counter() - started, text

            def floor(audio: bytes) -> tuple[float, str]:
                started = time.perf_counter()
                text = plain(reference, audio)
                return time.perf_counter() - started, text

            for audio in audios[:4]:  # warm-up of both
                floor(audio), served(audio)
            raw, service_times, heard, plain_heard = [], [], [], []
            for _ in range(args.rounds):
                for audio in audios:
                    took, text = floor(audio)
                    raw.append(took)
                    plain_heard.append(text)
                    took, text = served(audio)
                    service_times.append(took)
                    heard.append(text)

            gaps_by_turn = voice_gap.measure(service.url, gap_clips[: args.gap_questions], turns)

            window = args.seconds / args.rounds
            quiet, speaking, spoken = [], [], []
            wrk(service.url, args.clients, 2, bodies)  # warm-up
            for _ in range(args.rounds):
                quiet.append(wrk(service.url, args.clients, window, bodies)["requests"] / window)
                stop = threading.Event()

                def speaker(offset: int, stop: threading.Event = stop) -> None:
                    talker = Caller(service.url)
                    n = offset
                    while not stop.is_set():
                        started = time.monotonic()
                        spoken.append(talker.transcribe(audios[n % len(audios)]))
                        n += 1
                        stop.wait(max(0.0, SPEAKING_SECONDS - (time.monotonic() - started)))

                speakers = [threading.Thread(target=speaker, args=(k * 5,)) for k in range(2)]
                for thread in speakers:
                    thread.start()
                speaking.append(wrk(service.url, args.clients, window, bodies)["requests"] / window)
                stop.set()
                for thread in speakers:
                    thread.join()
            rss = service.rss_mb()

    asked = clips * args.rounds
    inside = [n for n, clip in enumerate(asked) if clip.in_kb]
    outside = [n for n, clip in enumerate(asked) if not clip.in_kb]

    def wer_of(texts: list[str], which: list[int]) -> float:
        return wer([asked[n].question for n in which], [texts[n] for n in which])

    gaps = gaps_by_turn[turns[0]]
    gap_seconds = [gap.seconds for gap in gaps]
    page_floor = [took + PAGE_END_SILENCE for took in raw]
    compared = [
        (
            f"caller's gap, p{q}: turn ending {turn} vs {turns[-1]}",
            common.pct([gap.seconds for gap in gaps_by_turn[turn]], q),
            common.pct([gap.seconds for gap in gaps_by_turn[turns[-1]]], q),
            "ms",
        )
        for turn in turns[:-1]
        for q in (50, 95)
    ]
    rows = [
        ("word error rate, questions outside the KB", wer_of(heard, outside), wer_of(plain_heard, outside), ""),
        ("word error rate, questions in the KB", wer_of(heard, inside), wer_of(plain_heard, inside), ""),
        ("transcribe + ask vs plain decode, p50", common.pct(service_times, 50), common.pct(raw, 50), "ms"),
        ("transcribe + ask vs plain decode, p95", common.pct(service_times, 95), common.pct(raw, 95), "ms"),
        (
            "caller's gap (end of words to reply spoken), p50",
            common.pct(gap_seconds, 50),
            common.pct(page_floor, 50),
            "ms",
        ),
        (
            "caller's gap (end of words to reply spoken), p95",
            common.pct(gap_seconds, 95),
            common.pct(page_floor, 95),
            "ms",
        ),
        *compared,
        (
            f"typed asks/s ({args.clients} connections): 2 callers speaking vs nobody",
            sum(speaking) / len(speaking),
            sum(quiet) / len(quiet),
            "/s",
        ),
    ]
    common.report(
        "voice",
        f".venv/bin/python -m bench.voice --rounds {args.rounds} --clients {args.clients} --seconds {args.seconds:g}"
        f" --gap-questions {args.gap_questions} --turns {','.join(turns)}",
        rows,
        {
            "questions": len(clips),
            "questions_outside_kb": sum(not clip.in_kb for clip in clips),
            "gap_questions": len(gaps),
            "gap_questions_outside_kb": sum(not gap.clip.in_kb for gap in gaps),
            "gap_turn_reported": turns[0],
            "gap_heard": [[gap.clip.question, gap.heard, gap.reply[:60]] for gap in gaps],
            "gap_by_turn": {turn: gap_figures(turn_gaps) for turn, turn_gaps in gaps_by_turn.items()},
            "transcriptions_while_asking": len(spoken),
            "asks_per_s_quiet_per_round": [round(r, 1) for r in quiet],
            "asks_per_s_speaking_per_round": [round(r, 1) for r in speaking],
            "service_rss_mb": rss,
            "method": "hearing and speech-to-answer interleaved per question (the plain model in this process, then "
            "the service over loopback); the gap on the call page in Chromium with a fake microphone; throughput "
            "alternating windows of wrk with and without 2 speaking callers",
        },
    )


if __name__ == "__main__":
    main()

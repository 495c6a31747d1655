"""Voice: end of speech to the agent's answer text, and typed-ask throughput while callers speak.

    .venv/bin/python -m bench.voice [--rounds 2] [--clients 8] [--seconds 30]

Latency. Each question of the voice tests' set (espeak-ng, 3 voices x 8 questions), recorded as the call page
sends it (0.3 s before the speech, 0.7 s of silence after: about 3 s), goes to POST /api/transcribe and what was
heard to POST /api/ask, over loopback: the time from the end of the recording (the page has found the end of the
sentence) to the answer's text. The floor is faster-whisper itself on the same audio in this process (same model,
CPU threads, options and prompt) plus one forward pass and a FAISS search for the heard text. Floor and service
alternate question by question. The page's 0.7 s of silence before it sends comes on top of both.

Throughput. wrk asks the demo salon from kept-alive connections for a window with nobody speaking, then for a
window while 2 callers each send a 3 s question every 3 s (as fast as one can speak), alternating for --rounds.
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

from bench import common
from bench.throughput import wrk
from kb_service.speech.audio import decode
from kb_service.speech.recognizer import hear, load_model, model_dir
from kb_service.speech.vocabulary import build_prompt
from tests.speech_support import QUESTIONS, VOICES, speak

DEMO = Path(common.ROOT) / "kb_service" / "demo" / "salon.jsonl"
PER_SESSION = 20  # transcriptions per call session: the service allows 30 a minute to one session
SPEAKING_SECONDS = 3.0


class Caller:
    """One call: a session, renewed every PER_SESSION recordings."""

    def __init__(self, url: str):
        self.http = httpx.Client(base_url=url, timeout=60)
        self.sent = 0
        self.session_id, self.headers = "", {}

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2, help="passes over the 24 questions; throughput rounds")
    parser.add_argument("--clients", type=int, default=8, help="wrk connections asking typed questions")
    parser.add_argument("--seconds", type=float, default=30, help="throughput: time under load, over all rounds")
    args = parser.parse_args()
    if shutil.which("wrk") is None or shutil.which("espeak-ng") is None:
        raise SystemExit("bench.voice needs wrk, espeak-ng and sox: run `make bench-voice` (it installs them)")

    entries = [json.loads(line) for line in DEMO.read_text().splitlines() if line.strip()]
    phrasings = [q for e in entries for q in e["questions"]]
    embedder = common.make_embedder()
    index = common.raw_index(embedder.embed(phrasings))
    model = load_model(model_dir())

    def count_tokens(texts):
        return [len(e.ids) for e in model.hf_tokenizer.encode_batch(texts, add_special_tokens=False)]

    prompt = build_prompt("Bella Hair Studio", [e["answer"] for e in entries], phrasings, count_tokens)

    def floor(audio: bytes) -> tuple[float, str]:
        """Seconds for faster-whisper on the recording plus the ask floor for what it heard."""
        started = time.perf_counter()
        text = hear(model, decode(audio), prompt)
        index.search(embedder.embed([text]), 20)
        return time.perf_counter() - started, text

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        audios = [
            speak(q, folder / f"{voice}-{n}.wav", voice, speed, before=0.3, after=0.7).read_bytes()
            for voice, speed in VOICES
            for n, q in enumerate(QUESTIONS)
        ]
        seconds_of_audio = [len(decode(a)) / 16000 for a in audios]
        bodies = folder / "bodies.txt"
        bodies.write_text("".join(json.dumps({"question": q}) + "\n" for q in phrasings))
        with common.Service(folder / "data", KB_DEMO="true") as service:
            caller = Caller(service.url)
            caller.transcribe(audios[0])  # waits for the model, which loads in the background after start

            def served(audio: bytes) -> float:
                started = time.perf_counter()
                caller.ask(caller.transcribe(audio) or "hello")
                return time.perf_counter() - started

            for audio in audios[:4]:  # warm-up of both
                floor(audio), served(audio)
            raw, service_times = [], []
            for _ in range(args.rounds):
                for audio in audios:
                    took, _ = floor(audio)
                    raw.append(took)
                    service_times.append(served(audio))

            window = args.seconds / args.rounds
            quiet, speaking, heard = [], [], []
            wrk(service.url, args.clients, 2, bodies)  # warm-up
            for _ in range(args.rounds):
                quiet.append(wrk(service.url, args.clients, window, bodies)["requests"] / window)
                stop = threading.Event()

                def speaker(offset: int, stop: threading.Event = stop) -> None:
                    talker = Caller(service.url)
                    n = offset
                    while not stop.is_set():
                        started = time.monotonic()
                        heard.append(talker.transcribe(audios[n % len(audios)]))
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
    rows = [
        ("end of speech to answer text p50", common.pct(service_times, 50), common.pct(raw, 50), "ms"),
        ("end of speech to answer text p95", common.pct(service_times, 95), common.pct(raw, 95), "ms"),
        (
            f"typed asks/s ({args.clients} connections): 2 callers speaking vs nobody",
            sum(speaking) / len(speaking),
            sum(quiet) / len(quiet),
            "/s",
        ),
    ]
    common.report(
        "voice",
        f".venv/bin/python -m bench.voice --rounds {args.rounds} --clients {args.clients} --seconds {args.seconds:g}",
        rows,
        {
            "questions": len(service_times),
            "audio_seconds_p50": sorted(seconds_of_audio)[len(seconds_of_audio) // 2],
            "transcriptions_while_asking": len(heard),
            "asks_per_s_quiet_per_round": [round(r, 1) for r in quiet],
            "asks_per_s_speaking_per_round": [round(r, 1) for r in speaking],
            "service_rss_mb": rss,
            "method": "latency interleaved per question (floor in this process, then the service over loopback); "
            "throughput alternating windows of wrk with and without 2 speaking callers",
        },
    )


if __name__ == "__main__":
    main()

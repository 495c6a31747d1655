"""Learn-to-answer: time from a resolve's 200 until a paraphrase of the question is answered with what was learned
(directly, or after the caller's yes to "Just to check — are you asking …?").

.venv/bin/python -m bench.learn_to_answer --clinc150 PATH [--phrasings 10000] [--rounds 10]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx

from bench import common

PAIRS = [  # (question escalated, paraphrase asked after the resolve)
    ("do you do eyebrow waxing?", "can I get my eyebrows waxed?"),
    ("do you offer balayage highlights?", "can you do balayage highlights?"),
    ("is there a student discount?", "do students get a discount?"),
    ("can I bring my dog to the salon?", "am I allowed to bring my dog to the salon?"),
    ("do you sell shampoo?", "can I buy shampoo from you?"),
    ("do you do wedding hair?", "can you do my hair for my wedding?"),
    ("do you have wheelchair access?", "is the salon wheelchair accessible?"),
    ("do you do beard trims?", "can I get my beard trimmed?"),
    ("do you offer keratin treatments?", "can I get a keratin treatment?"),
    ("do you have gift vouchers?", "can I buy a gift voucher?"),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phrasings", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=len(PAIRS))
    common.add_clinc150_option(parser)
    args = parser.parse_args()
    clinc150 = common.load_clinc150(args.clinc150)
    embedder = common.make_embedder()
    texts = common.phrasing_texts(clinc150, args.phrasings)
    vectors = common.embed_cached(embedder, texts, "phrasings")
    timings, answered = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        common.build_kb(Path(tmp) / "data", texts, vectors)
        with (
            common.Service(Path(tmp) / "data") as service,
            httpx.Client(
                base_url=service.url, timeout=30, headers={"Authorization": f"Bearer {common.TOKEN}"}
            ) as client,
        ):
            for question, paraphrase in PAIRS[: args.rounds]:
                ask = client.post("/api/ask", json={"question": question}).json()
                if ask["outcome"] != "escalated":
                    continue
                pending = client.get("/api/help-requests", params={"status": "pending", "limit": 200}).json()["items"]
                request = next(r for r in pending if ask["reference"] in [c["reference"] for c in r["callers"]])
                learned = client.post(
                    f"/api/help-requests/{request['id']}/resolve", json={"answer": f"Yes: {question}"}
                ).json()["knowledge_id"]
                resolved = time.perf_counter()
                deadline = resolved + 10
                while time.perf_counter() < deadline:  # bounded: gives up after 10 s
                    reply = client.post("/api/ask", json={"question": paraphrase}).json()
                    if reply["outcome"] == "confirm":  # an honest caller: yes to the learned entry, no to another
                        yes = reply["knowledge_id"] == learned
                        url = f"/api/confirmations/{reply['confirmation_id']}"
                        reply = client.post(url, json={"confirmed": yes}).json()
                    if reply["outcome"] == "answered" and reply["answer"] == f"Yes: {question}":
                        timings.append(time.perf_counter() - resolved)
                        answered += 1
                        break
    # The floor of "learn then answer" is one ask: encode + search.
    index = common.raw_index(vectors)
    raw = []
    for _, paraphrase in PAIRS:
        t = time.perf_counter()
        index.search(embedder.embed([paraphrase]), 20)
        raw.append(time.perf_counter() - t)
    rows = [
        ("resolve 200 -> paraphrase answered, p50", common.pct(timings, 50), common.pct(raw, 50), "ms"),
        ("resolve 200 -> paraphrase answered, max", common.pct(timings, 100), common.pct(raw, 100), "ms"),
    ]
    common.report(
        "learn_to_answer",
        ".venv/bin/python -m bench.learn_to_answer",
        rows,
        {"rounds": args.rounds, "answered": answered},
    )


if __name__ == "__main__":
    main()

"""The decoder's prompt: the business's own words, so Whisper hears "balayage" and "eyebrow waxing" rather than
"ride right where I'm sitting".

The prompt is the words of the knowledge base's answers and phrasings, the rare ones first, then the greeting and
"How can I help?". A word is rare when Whisper's own tokenizer splits it into two or more pieces: those are the
words its small vocabulary has not seen often. The greeting comes last so that the text just before the caller's
words is a sentence: with the comma list last, Whisper wrote questions outside the knowledge base as lists
("Do you have any appointment, left list Saturday morning?", "a lot, a lot, a lot"). On 144 clips of questions
outside the knowledge base (bench/hearing.py) the word error rate was 0.288 this way, 0.328 with the greeting
first and 0.338 for the plain model; inside it 0.378, 0.351 and 0.458 (docs/performance.md, "Hearing")."""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable

from kb_service.storage.store import Store

PROMPT_TOKENS = 100  # Whisper takes up to 223; 40 lost most of what the words buy inside the KB (docs/performance.md)
MAX_ROWS = 20_000  # of answers and of phrasings read per rebuild: a huge knowledge base still builds in well under 1 s
WORD = re.compile(r"[A-Za-z][A-Za-z-]*[A-Za-z]")  # no apostrophes: "what's" and "we're" are common, not rare


def build_prompt(
    business_name: str, answers: list[str], questions: list[str], count_tokens: Callable, tokens: int = PROMPT_TOKENS
) -> str:
    """The prompt for these texts, at most `tokens` long; `count_tokens(texts)` gives each text's number of Whisper
    tokens."""
    counts: Counter[str] = Counter()
    spelling: dict[str, str] = {}
    for text in answers + questions:
        for word in WORD.findall(re.sub(r"[A-Za-z]+'[A-Za-z]+", " ", text)):
            key = word.lower()
            counts[key] += 1
            spelling.setdefault(key, word)
    candidates = [key for key in counts if len(key) >= 4]
    sizes = count_tokens([" " + spelling[key] for key in candidates])
    # Rare words first (most used first), then the other longer words of the business ("highlights", "parking").
    rare = sorted((key for key, size in zip(candidates, sizes) if size >= 2), key=lambda k: (-counts[k], k))
    common = sorted(
        (k for k, size in zip(candidates, sizes) if size < 2 and len(k) >= 5), key=lambda k: (-counts[k], k)
    )
    opening = f"Hi, thanks for calling {business_name}." if business_name else "Hi, thanks for calling."
    budget = tokens - count_tokens([f" {opening} How can I help?"])[0] - 1
    words = []
    for key, size in zip(rare + common, count_tokens([" " + spelling[k] + "," for k in rare + common])):
        if size > budget:
            break
        words.append(spelling[key])
        budget -= size
    return f"{', '.join(words)}. {opening} How can I help?" if words else opening


class Vocabulary:
    """The prompt for the knowledge base as it is now, rebuilt when its knowledge version changes."""

    def __init__(self, store: Store, business_name: str):
        self.store = store
        self.business_name = business_name
        self._version: int | None = None
        self._prompt = ""
        self._lock = threading.Lock()

    def prompt(self, count_tokens: Callable) -> str:
        version = self.store.knowledge_version()
        with self._lock:
            if version != self._version:
                answers = [r[0] for r in self.store.query("SELECT answer FROM knowledge_entries LIMIT ?", (MAX_ROWS,))]
                questions = [r[0] for r in self.store.query("SELECT question FROM phrasings LIMIT ?", (MAX_ROWS,))]
                self._prompt = build_prompt(self.business_name, answers, questions, count_tokens)
                self._version = version
            return self._prompt

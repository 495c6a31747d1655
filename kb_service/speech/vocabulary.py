"""The decoder's prompt: the business's own words, so Whisper hears "balayage" and "eyebrow waxing" rather than
"ride right where I'm sitting".

The prompt is the greeting, then the words of the knowledge base's answers and phrasings: the rare ones first. A
word is rare when Whisper's own tokenizer splits it into two or more pieces: those are the words its small
vocabulary has not seen often. Sample questions in the prompt made it worse on our test set (docs/performance.md)."""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable

from kb_service.storage.store import Store

PROMPT_TOKENS = 100  # Whisper takes up to 223; 100 heard our test set better and faster than 200 (docs/performance.md)
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
    budget = tokens - count_tokens([opening])[0] - 1
    words = []
    for key, size in zip(rare + common, count_tokens([" " + spelling[k] + "," for k in rare + common])):
        if size > budget:
            break
        words.append(spelling[key])
        budget -= size
    return f"{opening} {', '.join(words)}." if words else opening


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

"""The contradiction guard: near-identical wording with a different meaning must escalate, not be answered.

Embeddings put "are you open on Sunday" right next to "are you closed on Sunday". The guard compares the
caller's question with the knowledge-base phrasing it matched, word by word, and names what differs: a weekday,
a number, time or price, a negation, an opposite verb, or a different named thing (a service the entry never
mentions, unless its embedding makes it a synonym of the word it replaced). Caller text is only ever tokenised with the fixed pattern below and looked up in fixed word sets."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

WordSimilarity = Callable[[str, str], float]  # cosine between two words' embeddings

# Share at least this fraction of their words to count as near-identical wording (Jaccard of token sets).
NEAR_IDENTICAL = 0.5
TOKEN = re.compile(r"\$?[a-z0-9]+(?:'[a-z]+)?")
_has_digit = re.compile(r"[0-9]").search  # on tokens of TOKEN, which hold ASCII digits only

WEEKDAYS = {  # a weekday or time-of-day word, and its short forms -> the word
    **{
        word: word
        for word in (
            "afternoon evening friday holiday midnight monday morning night noon saturday sunday thursday today "
            "tomorrow tonight tuesday wednesday weekday weekend yesterday"
        ).split()
    },
    "fri": "friday",
    "mon": "monday",
    "thu": "thursday",
    "thur": "thursday",
    "thurs": "thursday",
    "tue": "tuesday",
    "tues": "tuesday",
    "wed": "wednesday",
}
NUMBER_WORDS = set(
    (
        "double eight eighteen eighty eleven fifteen fifty first five forty four fourteen half hundred last "
        "million nine nineteen ninety once one quarter second seven seventeen seventy single six sixteen sixty "
        "ten third thirteen thirty thousand three twelve twenty twice two zero"
    ).split()
)
NEGATIONS = {"not", "no", "never", "nothing", "nobody", "none", "without", "cannot", "neither", "nor"}
# Each pair: words on one side contradict words on the other (compared after `_stem`).
OPPOSITES = [
    ({"open"}, {"close", "closed", "shut"}),
    ({"book", "booking", "schedule", "reserve", "reservation", "make"}, {"cancel", "cancellation"}),
    ({"start", "begin", "activate", "enable", "turn"}, {"stop", "end", "finish", "deactivate", "disable"}),
    ({"buy", "purchase", "order", "sell"}, {"refund", "return", "exchange"}),
    ({"add", "include"}, {"remove", "delete", "exclude"}),
    ({"arrive", "arrival", "come"}, {"leave", "departure", "go"}),
    ({"early", "earlier", "before"}, {"late", "later", "after"}),
    ({"more", "most", "increase", "raise"}, {"less", "least", "fewer", "decrease", "lower", "reduce"}),
    ({"minimum", "min"}, {"maximum", "max"}),
    ({"accept", "take", "allow"}, {"refuse", "reject", "ban"}),
    ({"in"}, {"out"}),
    ({"on"}, {"off"}),
    ({"up"}, {"down"}),
]
# Named alternatives: within a group, each class names a different thing ("a men's haircut" is not "a women's
# haircut"), and words of one class are synonyms ("ladies" for "women"). Compared after `_stem`.
ALTERNATIVES = [
    {
        "men": {"men", "man", "male", "gent", "gents", "gentleman", "gentlemen", "guy", "guys"},
        "women": {"women", "woman", "lady", "ladies", "female", "girl", "girls"},
        "children": {"child", "children", "kid", "kids", "toddler", "baby", "son", "daughter", "teen", "junior"},
        "seniors": {"senior", "seniors", "pensioner", "elderly", "retiree"},
        "students": {"student", "students"},
    },
    {"adults": {"adult", "adults", "grown", "grownup"}, "children": {"child", "children", "kid", "kids", "minor"}},
    {
        "cash": {"cash"},
        "card": {"card", "cards", "credit", "debit", "visa", "mastercard", "amex", "contactless"},
        "cheque": {"cheque", "cheques", "check", "checks"},
        "crypto": {"bitcoin", "crypto", "cryptocurrency"},
    },
]

WEEKEND_DAYS = {"saturday", "sunday"}
# Words a caller uses for one another, which word embeddings put far apart ("change" and "reschedule": 0.31).
SYNONYMS = [
    {"change", "reschedule", "move", "modify", "amend", "rebook", "rearrange", "postpone"},
    {"cost", "price", "charge", "fee", "rate", "pay"},
    {"fix", "repair", "mend"},
    {"wedding", "bridal", "bride"},
    {"appointment", "visit", "session", "slot"},
    {"voucher", "certificate", "giftcard"},
    {"hour", "time"},
    {"address", "location", "located", "find", "direction"},
]

# Words that carry no meaning of their own for the "different named thing" check.
STOPWORDS = set(
    (
        "a about again all also am an and any anyone anything anywhere are at be been being but by can could did do "
        "doe does each ever every for from get got had has have hello here hey hi how how's i i'd i'll i'm id if im "
        "into is it it's its just kind know let let's like many may me might mine much must my need of ok okay one "
        "onto or our please question really s shall should so some somebody someone something somewhere sort still "
        "tell than thank thanks that the then there there's these thing things this those to too up us very want "
        "was way we we're were what what's whats when where whether which who whom whose why will with would yeah "
        "yes you you're your yours"
    ).split()
)


@dataclass(frozen=True)
class Words:
    tokens: frozenset[str]
    days: frozenset[str]
    numbers: frozenset[str]
    negated: bool
    content: frozenset[str]


def _stem(token: str) -> str:
    """A crude, fixed suffix strip so that "cancelling", "cancelled" and "cancel" compare equal (and "weddings"
    and "wedding": stripped until nothing more comes off, twice at most)."""
    token = token.removesuffix("'s")
    for _ in range(2):
        for suffix in ("ling", "led", "ing", "ed", "es", "s"):
            if token.endswith(suffix) and len(token) - len(suffix) >= 3 and not token.endswith("ss"):
                token = token[: -len(suffix)]
                break
        else:
            break
    return token


_ALTERNATIVE_CLASSES = [  # word or its stem -> its class, per group
    {form: name for name, members in group.items() for word in members for form in (word, _stem(word))}
    for group in ALTERNATIVES
]
STEMMED_SYNONYMS = [{_stem(word) for word in words} for words in SYNONYMS]
STEMMED_OPPOSITES = [({_stem(w) for w in a}, {_stem(w) for w in b}) for a, b in OPPOSITES]
OPPOSITE_WORDS = set().union(*(a | b for a, b in STEMMED_OPPOSITES))
# Words on one side of an opposite pair say one thing ("shut", "close"): one word when the guard looks for the
# entry's phrasing worded most like the question.
_SIDE_WORD = {word: min(side) for pair in STEMMED_OPPOSITES for side in pair for word in side}


def _raw_tokens(text: str) -> list[str]:
    return [token.removesuffix("n't") for token in TOKEN.findall(text.lower().replace("\u2019", "'"))]


def word_count(text: str) -> int:
    return len(_raw_tokens(text))


@lru_cache(maxsize=16_384)  # the matched entry's phrasings come round again and again
def stems(text: str) -> frozenset[str]:
    """The text's stemmed words: all that deciding "near-identical wording" needs (`Words.tokens`)."""
    return frozenset(_stem(token) for token in _raw_tokens(text))


@lru_cache(maxsize=16_384)  # Words is immutable
def words(text: str) -> Words:
    days, numbers = set(), set()
    negated = any(
        token.endswith("n't") or token in NEGATIONS for token in TOKEN.findall(text.lower().replace("\u2019", "'"))
    )
    for token in _raw_tokens(text):
        if _has_digit(token) or token in NUMBER_WORDS:
            numbers.add(token.lstrip("$"))
        day = WEEKDAYS.get(token) or WEEKDAYS.get(token.removesuffix("s"))
        if day:
            days.add(day)
    tokens = stems(text)
    content = {
        t
        for t in tokens
        if t not in STOPWORDS
        and t not in OPPOSITE_WORDS
        and t not in NEGATIONS
        and t not in WEEKDAYS.values()
        and t not in numbers
        and not _has_digit(t)
    }
    return Words(tokens, frozenset(days), frozenset(numbers), negated, frozenset(content))


SYNONYM_COSINE = 0.6  # two words at least this close ("fix", "repair": 0.63) name the same thing


def contradiction(
    question: str, phrasing: str, entry_text: str = "", similar: WordSimilarity | None = None
) -> str | None:
    """Why `question` means something other than `phrasing` (the KB phrasing it matched), or None.

    `entry_text` is the entry's other phrasings and answer: a named thing the entry itself mentions is no
    contradiction ("how much is balayage" may match "what's the price for highlights" of the colour-price entry).
    """
    q, p = words(question), words(phrasing)
    known = words(entry_text) if entry_text else Words(frozenset(), frozenset(), frozenset(), False, frozenset())
    if not _near_identical(q, p):
        return None  # worded differently: a paraphrase, not a near-identical question with one thing changed
    if q.numbers - p.numbers - known.numbers:
        return "different number, time or price"  # a number the entry never mentions
    covered = known.days | ({"weekend"} if WEEKEND_DAYS & known.days else set())  # the days the entry speaks of
    if q.days - p.days - known.days - covered:
        return "different day or time of day"
    if q.days and p.days and q.days != p.days and not q.days <= covered:  # unless the entry speaks of that day
        return "different day or time of day"
    if q.numbers and p.numbers and q.numbers != p.numbers:
        return "different number, time or price"
    if q.negated != p.negated:
        return "negation"
    for side_a, side_b in STEMMED_OPPOSITES:
        qa, qb = bool(q.tokens & side_a), bool(q.tokens & side_b)
        pa, pb = bool(p.tokens & side_a), bool(p.tokens & side_b)
        if (qa and not qb and pb and not pa) or (qb and not qa and pa and not pb):
            return "opposite verb"
    only_question = q.content - p.content
    only_phrasing = p.content - q.content
    if len(only_question) == 1 and len(only_phrasing) == 1 and only_question - known.content:
        # One word swapped for another: a synonym ("fix" for "repair") or another service ("shave" for "cut")?
        swapped, replaced = next(iter(only_question)), next(iter(only_phrasing))
        if _same_class(swapped, replaced) or _synonyms(swapped, replaced) or _named_by(swapped, entry_text):
            return None  # "ladies" for "women", or "men's" where the entry also prices men's
        if similar is None or similar(swapped, replaced) < SYNONYM_COSINE:
            return "different named thing"
    return None


def _near_identical(q: Words, p: Words) -> bool:
    return bool(q.tokens) and _overlap(q, p) >= NEAR_IDENTICAL


def _overlap(q: Words, p: Words) -> float:
    return _jaccard(q.tokens, p.tokens)


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / max(1, len(a | b))


def entry_contradiction(
    question: str, phrasings: list[str], answer: str = "", similar: WordSimilarity | None = None
) -> str | None:
    """Check the question against the matched entry's phrasing worded most like it: escalate when the wording is
    near-identical but one meaning changed (unless an equally close phrasing of the entry agrees with it)."""
    entry_text = " ".join([*phrasings, answer])
    if (alternative := other_alternative(question, entry_text)) is not None:
        return alternative
    q = _sides(stems(question))  # the rest of the question's analysis (`words`) only if some phrasing is this close
    close = [(_jaccard(q, _sides(stems(p))), p) for p in phrasings]
    close = [(o, p) for o, p in close if o >= NEAR_IDENTICAL]
    if not close:
        return None
    top = max(o for o, _ in close)
    reasons = [contradiction(question, p, entry_text, similar) for o, p in close if o == top]
    return None if None in reasons else reasons[0]


def _sides(stemmed: frozenset[str]) -> frozenset[str]:
    return frozenset(_SIDE_WORD.get(word, word) for word in stemmed)


def _classes(text: str, group: dict[str, str]) -> set[str]:
    return {group[form] for token in _raw_tokens(text) for form in (token, _stem(token)) if form in group}


@lru_cache(maxsize=4096)  # an entry's text comes round again and again
def _entry_classes(entry_text: str) -> tuple[frozenset[str], ...]:
    return tuple(frozenset(_classes(entry_text, group)) for group in _ALTERNATIVE_CLASSES)


def _same_class(a: str, b: str) -> bool:
    return any(a in group and group.get(b) == group[a] for group in _ALTERNATIVE_CLASSES)


def _synonyms(a: str, b: str) -> bool:
    return any(a in words and b in words for words in STEMMED_SYNONYMS)


def _named_by(word: str, entry_text: str) -> bool:
    """The word is an alternative (men's, cash) whose class the entry speaks of."""
    return any(word in group and group[word] in _classes(entry_text, group) for group in _ALTERNATIVE_CLASSES)


def other_alternative(question: str, entry_text: str) -> str | None:
    """The question names one alternative (men's, a child, cash) and the entry speaks only of others of its kind
    (women's, adults, cards): another thing, however close the wording. An entry that names none of them covers
    them all ("a haircut is $40")."""
    for group, named in zip(_ALTERNATIVE_CLASSES, _entry_classes(entry_text), strict=True):
        asked = _classes(question, group)
        if asked and named and not asked & named:
            return "a different named alternative"
    return None

"""Lexical evidence for discovery: which of a query's informative words a skill mentions.

Dense similarity misses exact jargon ("SKU", "DMARC", "PTO") and over-rewards topical
neighbours; word overlap weighted by rarity catches what it misses. The index keeps one
posting array per term (4 bytes per entry), so 100,000 skills cost tens of megabytes,
and scoring a query touches only the postings of its own terms.
"""

from __future__ import annotations

import functools
import math
import re
import sys
from array import array

import numpy as np
import numpy.typing as npt

NUMBER_WORDS = frozenset({
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    "hundred", "thousand", "million", "billion",
})  # fmt: skip
"""Numbers in words: they say as little about whom to ask as digits do ("six times
fifteen" scored under the floor, its numbers counted as rare words no card holds)."""

STOPWORDS = frozenset(
    {
        "a",
        "about",
        "after",
        "again",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "done",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "get",
        "give",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "let",
        "like",
        "me",
        "more",
        "most",
        "much",
        "my",
        "need",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "please",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "want",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "tell",
        "show",
        "find",
        "make",
        "help",
        "something",
        "anything",
        "thing",
        "things",
        "way",
        "right",
        "know",
        # chat: contractions typed without the apostrophe, fillers, thanks and laughter
        "whats",
        "hows",
        "whos",
        "wheres",
        "whens",
        "im",
        "ive",
        "dont",
        "cant",
        "lol",
        "lmao",
        "haha",
        "pls",
        "plz",
        "thx",
        "thanks",
        "thank",
        "ty",
        "btw",
        "ok",
        "okay",
        "hmm",
        "um",
        "uh",
        "hey",
        "hi",
        "hello",
        "yeah",
        "gonna",
        "wanna",
        "gotta",
    }
    | NUMBER_WORDS
)
_SYMBOLS = frozenset("%*+/^×÷√")  # arithmetic, where a question may have no other word
_WORD = re.compile(r"[a-z0-9]+|[" + re.escape("".join(sorted(_SYMBOLS))) + "]")
_DEGREES = re.compile(r"(?:(?<=\d)\s?°?|°)([cf])(?![a-z0-9])")
"""A temperature's letter ("350 F", "200°c"): one letter says nothing elsewhere, but
after a number it names the scale, as the units card's "°F" does."""
_MINUS = re.compile(r"(?:(?<![\d/.-])\d+(?:\.\d+)?|\))(\s*)[-−](\s*)(?=[\d(.−-])")
"""A minus between operands ("14 - 3", "(2+3)-4", "14 − 3"); a tight "14-3" may be a range
or a score, and a date's "2024-01-01" is none."""
STEM_LENGTH = 6


_IRREGULAR_PAIRS = (  # past forms no suffix rule reaches: "where are cards kept" asks "keep"
    "kept:keep held:hold made:make found:find sent:send built:build paid:pay sold:sell"
    " bought:buy told:tell gave:give given:give took:take taken:take began:begin"
    " begun:begin wrote:write written:write knew:know known:know ran:run spent:spend"
    " lost:lose won:win brought:bring thought:think chose:choose chosen:choose"
    " stood:stand understood:understand meant:mean"
)
_IRREGULAR = dict(pair.split(":") for pair in _IRREGULAR_PAIRS.split())


@functools.lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """Strip plural and verb endings, then keep the first six letters (truncation stemming).

    Crude but robust for short texts: 'translate', 'translation' and 'translator' all
    become 'transl'; 'pricing', 'prices' and 'price' become 'pric'; a few irregular past
    forms ('kept', 'written') become their verb.
    """
    word = _IRREGULAR.get(word, word)
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) >= 6 and word.endswith("ing"):
        word = word[:-3]
    elif len(word) >= 5 and word.endswith("ed"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    return word[:STEM_LENGTH]


_SUBTRACT = stem("subtract")


def tokenize(text: str) -> list[str]:
    """Lowercase word stems without stopwords or bare numbers, and arithmetic symbols:
    "45 * 12" is about multiplying even with no word saying so, while its 45 and 12 say
    nothing about whom to ask (they matched a dates example's "12"); a minus between
    operands is the stem of "subtract". '_' and '-' separate words. A temperature's letter
    after a number or "°" is the token "°c" or "°f"."""
    lowered = text.lower()
    words = [
        sys.intern(w if w in _SYMBOLS else stem(w))
        for w in _WORD.findall(lowered)
        if (w not in STOPWORDS and len(w) > 1 and not w.isdigit()) or w in _SYMBOLS
    ]
    minus = [
        _SUBTRACT
        for m in _MINUS.finditer(lowered)
        if m[1] or m[2] or "−" in m[0] or m[0].startswith(")") or lowered[m.end()] == "("
    ]
    return [*words, *minus] + [sys.intern(f"°{letter}") for letter in _DEGREES.findall(lowered)]


class LexicalIndex:
    """Term postings over integer unit ids; ids are assigned by the caller and never reused.

    Only the postings are kept (4 bytes per unit and term): removed units stay in them
    until they outnumber the live ones, and callers mask them out meanwhile.
    """

    def __init__(self) -> None:
        self._postings: dict[str, array[int]] = {}
        self._live: set[int] = set()
        self._dead = 0

    def __len__(self) -> int:
        return len(self._live)

    def add(self, unit: int, text: str) -> None:
        if unit in self._live:
            raise ValueError(f"lexical unit {unit} is already indexed")
        self._live.add(unit)
        for term in set(tokenize(text)):
            postings = self._postings.get(term)
            if postings is None:
                postings = self._postings[term] = array("i")
            postings.append(unit)

    def remove(self, unit: int) -> None:
        if unit not in self._live:
            return
        self._live.discard(unit)
        self._dead += 1
        if self._dead > 1000 and self._dead > len(self._live):
            self._compact()

    def _compact(self) -> None:
        live = self._live
        for term, postings in list(self._postings.items()):
            kept = array("i", (u for u in postings if u in live))
            if kept:
                self._postings[term] = kept
            else:
                del self._postings[term]
        self._dead = 0

    def idf(self, term: str) -> float:
        n = max(len(self._live), 1)
        df = min(len(self._postings.get(term, ())), n)
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def query_terms(self, text: str) -> dict[str, float]:
        """The query's distinct terms with their weights (idf)."""
        return {t: self.idf(t) for t in dict.fromkeys(tokenize(text))}

    def coverage(self, terms: dict[str, float], size: int) -> npt.NDArray[np.float32]:
        """Per unit id (< size): the share of the query's idf mass that the unit mentions."""
        total = sum(terms.values())
        scores = np.zeros(size, dtype=np.float32)
        if total <= 0:
            return scores
        for term, weight in terms.items():
            postings = self._postings.get(term)
            if postings:
                ids = np.frombuffer(postings, dtype=np.int32)
                scores[ids[ids < size]] += weight / total
        return scores

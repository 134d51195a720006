"""Which sentences near a question can answer it: the knowledge agent's checks that a
quoted sentence is about what was asked, not only near it in meaning. Each works on the
question's terms (stemmed words without stopwords) and on the retrieved passages, each a
list of its sentences, so that "Its average distance …" is read with the sentence
before it that names Earth."""

from __future__ import annotations

import math
import re
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from mesh.lexical import STOPWORDS, stem

__all__ = [
    "NumberAsked",
    "about_subject",
    "kind_named",
    "names_any",
    "number_asked",
    "overlap",
    "terms",
    "where_asked",
]

_QUANTITY_ASKED = re.compile(
    r"\bhow\s+(?:many|much|far|long|old|big|large|fast|hot|cold|heavy|tall|deep|high)\b", re.I
)
_LENGTH = r"kilomet|\bkm\b|miles?\b|met(?:re|er)s?\b|\bau\b|light[- ]years?|feet|\bft\b"
_TEMPERATURE = r"°|degrees|temperature|kelvin"
_SIZE = (rf"size|diamet|radius|{_LENGTH}|\bmass\b|\bkg\b", "size")
_KIND_ASKED = {  # what a "how far/hot/…" question's answer measures, and its measure's name
    "far": (rf"distance|{_LENGTH}", "distance"),
    "hot": (_TEMPERATURE, "temperature"),
    "cold": (_TEMPERATURE, "temperature"),
    "heavy": (r"\bkg\b|kilogram|\bmass|weigh|tonnes?", "mass"),
    "fast": (r"speed|per\s+(?:second|hour)|/s\b|/h\b|mph", "speed"),
    "tall": (rf"height|{_LENGTH}", "height"),
    "high": (rf"height|altitude|{_LENGTH}", "height"),
    "deep": (rf"depth|{_LENGTH}", "depth"),
    "old": (r"\bages?\b|\bold\b|years\s+ago|formed|founded|born|since|released", "age"),
    "big": _SIZE,
    "large": _SIZE,
}
_HOW_KIND = re.compile(rf"\bhow\s+({'|'.join(_KIND_ASKED)})\b", re.I)
_MEASURED = {  # "what is the <measure> of …": the "how …" it asks, or None for a bare number
    "distance": "far", "diameter": "far", "radius": "far", "circumference": "far",
    "temperature": "hot", "boiling point": "hot", "melting point": "hot",
    "freezing point": "hot", "mass": "heavy", "weight": "heavy", "speed": "fast",
    "velocity": "fast", "height": "tall", "altitude": "high", "depth": "deep",
    "size": "big", "age": "old", "population": None, "number": None, "period": None,
    "duration": None, "density": None, "gravity": None, "pressure": None, "area": None,
    "volume": None,
}  # fmt: skip
_MEASURE_ASKED = re.compile(
    r"^\s*(?:what|which)(?:'s|s|\s+is|\s+are|\s+was|\s+were)\s+(?:the\s+)?(?:[a-z]+\s+)?"
    rf"(?P<measure>{'|'.join(_MEASURED)})\s+(?:of|on|for|at|from|between)\b",
    re.IGNORECASE,
)


class NumberAsked(NamedTuple):
    """A question that wants a number: the words that ask for it ("how far", "the mass of")
    and, when the number measures something, what a sentence giving it holds (a pattern)
    and the measure's name."""

    words: str
    holds: re.Pattern[str] | None
    measure: str


def number_asked(question: str) -> NumberAsked | None:
    """What number a question asks for: "how many …", "how far …" or "what is the mass of
    the Sun" (a mass, which "its mass is more than twice …" does not give); else None."""
    if found := _QUANTITY_ASKED.search(question):
        how = _HOW_KIND.search(question)
        kind, measure = (how[1].lower() if how else None), "number"
    elif found := _MEASURE_ASKED.search(question):
        measure = " ".join(found["measure"].lower().split())
        kind = _MEASURED[measure]
    else:
        return None
    if kind is None:
        return NumberAsked(found[0], None, measure)
    pattern, measure = _KIND_ASKED[kind]
    return NumberAsked(found[0], re.compile(pattern, re.I), measure)


_WHERE = re.compile(r"\s*where\b", re.IGNORECASE)
_PLACE = re.compile(
    r"\b(?:in|at|on|inside|into|under|between|beyond|near|within)\s+(?:the\s+|a\s+)?[A-Z]"
)


def where_asked(question: str, candidates: list[tuple[str, str]]) -> npt.NDArray[np.bool_]:
    """Per sentence, whether it gives a place when the question asks where ("where does the
    mesh store the agent cards?": "The cards are kept in Chroma …", not "The registry
    stores an agent card …"); all True for any other question."""
    if not _WHERE.match(question):
        return np.ones(len(candidates), dtype=bool)
    return np.array([bool(_PLACE.search(sentence)) for sentence, _ in candidates], dtype=bool)


def terms(text: str) -> set[str]:
    """The words of `text` that can name what is asked: stemmed, without stopwords."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {stem(w) for w in words if w not in STOPWORDS and (len(w) > 1 or w.isdigit())}


_KIND = re.compile(  # "what embedding model does …", "which database is …": the kind asked for
    r"^\s*(?:what|which)\s+(?!(?:is|are|was|were|does|do|did|can|the|a|an|kind|sort|type)\b)"
    r"(?P<kind>[a-z-]+(?:\s+[a-z-]+){0,2}?)\s+(?:does|do|did|is|are|was|were|can|could|should"
    r"|will|would|has|have)\b",
    re.IGNORECASE,
)
_STATED_KINDS = terms("year date day time month century decade")  # "in 1991" names no year


_CAPITALISED = re.compile(r"\b[A-Z][\w-]*")


def kind_named(question: str, candidates: list[tuple[str, str]]) -> npt.NDArray[np.bool_]:
    """Per (sentence, source), whether it names a thing of the kind a "what/which <kind> …"
    question asks for, by that word or by a name the question does not hold: "what
    embedding model does the registry use" is answered by the sentence naming the model,
    not by the one saying most about the registry; "which planet has the moons Phobos and
    Deimos" by "Mars has two small moons …". All True for any other question, and for a
    kind a sentence states without naming it ("what year …" is answered by "in 1991")."""
    asked = _KIND.match(question)
    kind = terms(asked["kind"]) - _STATED_KINDS if asked else set()
    if not kind:
        return np.ones(len(candidates), dtype=bool)
    known = terms(question)
    return np.array(
        [
            bool(kind & terms(sentence))
            or any(
                word.lower() not in STOPWORDS and stem(word.lower()) not in known
                for word in _CAPITALISED.findall(sentence)
            )
            for sentence, _ in candidates
        ],
        dtype=bool,
    )


def overlap(question: str, candidates: list[tuple[str, str]]) -> npt.NDArray[np.float32]:
    """Per (sentence, source), the share of the question's words the sentence holds, each
    weighted by how few of the sentences hold it: "what is a tuple" prefers the sentence
    naming tuples among many about Python, and "HTTP 429" the one with 429 (a number
    counts double: it names one thing exactly). A word of the source's name says what the
    document is about, not which of its sentences answers: "python" picks nothing in
    python-basics."""
    asked = terms(question)
    held = [terms(sentence) - terms(source.replace("-", " ")) for sentence, source in candidates]
    weights = {}
    for term in asked:
        if df := sum(term in h for h in held):
            weights[term] = math.log(1 + len(held) / df) * (2 if term.isdigit() else 1)
    total = sum(weights.values()) or 1.0
    return np.array(
        [sum(w for t, w in weights.items() if t in h) / total for h in held], dtype=np.float32
    )


def about_subject(
    question: str, asked: str, sentences: list[list[str]], known: set[str]
) -> npt.NDArray[np.bool_]:
    """Per sentence of each passage, whether it and the sentence before it name all that a
    "how many/far/hot/…" question asks about, of the words the documents use (`known`).
    "how far is the moon" or "how far is Mars from the Sun" is not answered by Earth's
    distance from the Sun, though that is the only distance near it ("Its average
    distance …" names Earth in the sentence before), nor "how many planets have rings" by
    "eight planets"."""
    subject = (terms(question) & known) - terms(f"{asked} away roughly approximately average")
    fits = []
    for passage in sentences:
        held = [terms(sentence) for sentence in passage]
        fits += [subject <= held[i] | (held[i - 1] if i else set()) for i in range(len(held))]
    return np.array(fits, dtype=bool)


def names_any(
    question: str, sentences: list[list[str]], sources: list[str], asking: str = ""
) -> npt.NDArray[np.bool_]:
    """Per sentence of each passage, whether it or the sentence before it holds one of the
    question's words, besides its document's name and the words that only ask ("who made
    python" and "who's the guy that created Python?" are answered by "… created by Guido
    van Rossum"), nor those that ask for a number (`asking`, as "how old" in "how old is the
    Solar System"): "what is a python dictionary" is not answered by "Python is a
    high-level … language", the nearest sentence (the documents say "dict")."""
    asked = terms(question) - _ASKING - terms(asking)
    names = []
    for passage, source in zip(sentences, sources, strict=True):
        wanted = asked - terms(source.replace("-", " "))
        held = [terms(sentence) & wanted for sentence in passage]
        names += [not wanted or bool(held[i] or (i and held[i - 1])) for i in range(len(held))]
    return np.array(names, dtype=bool)


_ASKING = terms(  # verbs that ask for a fact, and the filler around them
    "made make created create invented invent wrote write built build designed design"
    " developed develop founded mean meant define explain describe tell called call stand"
    " guy person people someone somebody thing stuff quick exactly actually really basically"
    " originally initially"
)

"""How the offline planner reads a request: parts, their order, what each one needs.

Deterministic and rule-based, on purpose (measured by ``bench/planner_eval.py``):

- split at sentence ends (also right after a quote when an instruction follows), at
  numbered items ("1) ... 2) ..." when the request starts
  with one), at ";", at "then" / "after that" / "and then" / "and after that", and at
  "and" / "also" / "," when what follows starts a new instruction (a verb such as
  "count" or "compute"; after "and", also a question word; after ",", also a question
  word when the part before is itself an instruction or question, so "What is 2**10, what
  is 3**5" splits but "For each planet, what moons…", "Tell me, what…", "When it rains,
  what…" and "…, what it does" do not);
- never inside quotes, nor in the material after an instruction's colon ("Summarize:
  ...") up to a sentence that starts with "Then" / "Next" / "Finally";
- a part depends on the part before it when it starts with "then", "after that",
  "next", "finally", or refers to "the result", "the answer", "its", "that number",
  "the previous ...", or has "it" / "them" / "that" as the object of its verb
  ("multiply it by 2") or last word;
- "the first/second/... result" and "step 2" point at that part; "both results", "the
  two answers" at the two parts before; "all the results", "these results" at every
  earlier part;
- the capability discovery searches with is the part's own words, with long quoted
  material replaced by '…' so that the text to work on does not pick the agent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

QUESTION_WORDS = {"how", "what", "what's", "whats", "when", "where", "which", "who", "why"}
VERBS = {
    "add", "analyse", "analyze", "answer", "ask", "calculate", "check", "compare", "compute",
    "convert", "count", "create", "define", "describe", "divide", "draft", "evaluate",
    "explain", "extract", "find", "get", "give", "list", "look", "measure", "multiply",
    "name", "search", "show", "solve", "subtract", "sum", "summarise", "summarize", "tell",
    "translate", "work", "write",
}  # fmt: skip
INSTRUCTION_WORDS = VERBS | QUESTION_WORDS
MATERIAL_WORDS = 3  # quoted text longer than this is material, not part of the capability

_SEQUENCE = re.compile(
    r"^(?:and )?(then|after that|afterwards|finally|next)\b[,:]?\s*", re.IGNORECASE
)
_FILLER = re.compile(r"^(?:also|and|plus|first(?: of all)?|firstly)\b[,:]?\s+", re.IGNORECASE)
_NOUNS = r"(?:result|answer|output|number|value|sum|total|summary|explanation|definition)"
_PREVIOUS = re.compile(
    rf"\b(?:the|that|this|its|last) {_NOUNS}\b|\b(?:it|that|them)\b\s*[.?!]?$|\bprevious\b"
    r"|\bits\b",
    re.IGNORECASE,
)
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5,
             "1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5}  # fmt: skip
_ORDINAL = re.compile(
    rf"\b({'|'.join(_ORDINALS)}) {_NOUNS}s?\b|\b(?:step|task|part) (\d{{1,2}})\b", re.IGNORECASE
)
_PLURAL = re.compile(
    rf"\b(both|the two|the three|all(?: the)?|these|those|the) {_NOUNS}s\b|\bboth of them\b",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"(?<!\w)'.+?'(?!\w)|\"[^\"]*\"|“[^”]*”|‘.+?’(?!\w)", re.DOTALL)
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+(?=[A-Z\"'“\x00])")
_SOFT_SPLIT = re.compile(
    r"\s*;\s*|,?\s+(?:and then|and after that|then|after that|and also|also|and)\s+|,\s+",
    re.IGNORECASE,
)
_LEAD_ONLY = re.compile(
    r"^(?:and )?(?:then|after that|afterwards|finally|next|also|plus|first(?: of all)?|firstly)$"
)
_AFTER_QUOTE = re.compile(r"(?<=\x00)\s+(?=[A-Z])")
_OBJECT_PRONOUN = re.compile(r"^\w+ (?:it|them|that)\b", re.IGNORECASE)
_LIST_START = re.compile(r"^\(?1[.)]\s+")
_LIST_ITEM = re.compile(r"(?<=[.?!;:,])\s+\(?\d{1,2}[.)]\s+")
_COLON = re.compile(r":\s+")
_CLAUSE = re.compile(  # a wh-word opening a clause, not a question: "when it rains"
    r"^(?:how|what|when|where|which|who|why)\s+(?:i|you|we|they|he|she|it|this|that|these"
    r"|those|the|a|an|my|your|our|their|his|her|its)\b",
    re.IGNORECASE,
)
_BARE_TAIL = {"me", "us", "this", "please", "out", "quickly", "briefly"}  # "Tell me, what…"
_HIDDEN = re.compile(r"\x00(\d+)\x00")


class Part(NamedTuple):
    text: str
    capability: str
    depends_on: tuple[int, ...]  # indices of earlier parts


def parse_request(request: str) -> list[Part]:
    """The parts of a request in order, with what each depends on; see the module doc."""
    hidden: list[str] = []

    def hide(text: str) -> str:
        hidden.append(text)
        return f"\x00{len(hidden) - 1}\x00"

    text = request.replace("\x00", " ").strip()  # NUL marks hidden spans below
    masked = _QUOTED.sub(lambda m: hide(m.group(0)), text)
    items = [masked]
    if _LIST_START.match(masked):
        items = _LIST_ITEM.split(_LIST_START.sub("", masked))
    sentences = [s for item in items for s in _sentences(item)]
    parts: list[Part] = []
    for sentence in _keep_material(sentences, hide):
        for index, (piece, sequenced) in enumerate(_split_soft(sentence)):
            piece = piece.strip(" ,;")
            if not piece:
                continue
            lead = _SEQUENCE.match(piece)
            sequenced = sequenced or (index == 0 and lead is not None)
            piece = _SEQUENCE.sub("", piece, count=1).strip() or piece
            piece = _FILLER.sub("", piece, count=1).strip() or piece
            deps = _references(piece, len(parts))
            if sequenced and parts:
                deps.add(len(parts) - 1)
            parts.append(
                Part(
                    text=_reveal(piece, hidden, short=False),
                    capability=_reveal(piece, hidden, short=True),
                    depends_on=tuple(sorted(deps)),
                )
            )
    return parts


def split_request(request: str) -> list[tuple[str, bool]]:
    """Parts of a request in order, each with whether it depends on an earlier part."""
    return [(part.text, bool(part.depends_on)) for part in parse_request(request)]


def _sentences(text: str) -> list[str]:
    """Split at sentence ends, and after a quote when a capitalised instruction follows."""
    out: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        start = 0
        for match in _AFTER_QUOTE.finditer(sentence):
            if _first_word(sentence[match.end() :]) in INSTRUCTION_WORDS:
                out.append(sentence[start : match.start()])
                start = match.end()
        out.append(sentence[start:])
    return out


def _keep_material(sentences: list[str], hide: Callable[[str], str]) -> list[str]:
    """Hide the material after "Instruction: ..." with the sentences that follow it, as
    one span, so that none of it (not even a short sentence) becomes the capability."""
    out: list[str] = []
    head, material = "", list[str]()
    for sentence in sentences:
        if material and not _SEQUENCE.match(sentence):
            material.append(sentence)
            continue
        if material:
            out.append(head + hide(" ".join(material)))
            material = []
        colon = _COLON.search(sentence)
        first = _first_word(_FILLER.sub("", _SEQUENCE.sub("", sentence)))
        if colon and first in VERBS and sentence[colon.end() :].strip():
            head, material = sentence[: colon.end()], [sentence[colon.end() :]]
            continue
        out.append(sentence)
    if material:
        out.append(head + hide(" ".join(material)))
    return out


def _split_soft(sentence: str) -> list[tuple[str, bool]]:
    pieces: list[tuple[str, bool]] = []
    start, sequenced = 0, False
    for match in _SOFT_SPLIT.finditer(sentence):
        first = _first_word(sentence[match.end() :])
        connector = match.group(0).strip().lower()
        is_sequence = "then" in connector or "after" in connector
        if connector == ",":
            lead = sentence[start : match.start()].strip().lower()
            splits = first in VERBS and not _LEAD_ONLY.match(lead)
            if first in QUESTION_WORDS:
                rest = sentence[match.end() :]
                asks = len(rest.split(maxsplit=1)) > 1 and not _CLAUSE.match(rest)
                splits = asks and _is_instruction(lead)
        else:
            splits = is_sequence or connector == ";" or first in INSTRUCTION_WORDS
        if not splits:
            continue
        pieces.append((sentence[start : match.start()], sequenced))
        start, sequenced = match.end(), is_sequence
    pieces.append((sentence[start:], sequenced))
    return pieces


def _is_instruction(text: str) -> bool:
    """Whether `text` (fillers aside) is an instruction or question of its own."""
    text = _FILLER.sub("", _SEQUENCE.sub("", text.strip(), count=1), count=1)
    words = text.lower().split()
    if not words or _first_word(text) not in INSTRUCTION_WORDS or _CLAUSE.match(text):
        return False
    return not set(words[1:]) <= _BARE_TAIL


def _references(masked: str, before: int) -> set[int]:
    """Indices of the earlier parts that `masked` (quotes hidden) refers to."""
    if before == 0:
        return set()
    deps: set[int] = set()
    for match in _ORDINAL.finditer(masked):
        number = _ORDINALS.get((match.group(1) or "").lower()) or int(match.group(2) or 0)
        if 1 <= number <= before:
            deps.add(number - 1)
    for match in _PLURAL.finditer(masked):
        word = (match.group(1) or "both").lower()
        count = {"both": 2, "the two": 2, "the three": 3}.get(word, before)
        deps.update(range(max(0, before - count), before))
    pronoun_object = _OBJECT_PRONOUN.match(masked) and _first_word(masked) in VERBS
    if not deps and (_PREVIOUS.search(masked) or pronoun_object):
        deps.add(before - 1)
    return deps


def _first_word(text: str) -> str:
    words = text.split(maxsplit=1)
    return words[0].lower().strip(",:") if words else ""


def _reveal(text: str, hidden: list[str], *, short: bool) -> str:
    def put_back(match: re.Match[str]) -> str:
        original = hidden[int(match.group(1))]
        original = _HIDDEN.sub(put_back, original)
        if short and len(original.split()) > MATERIAL_WORDS:
            quote = original[0] if original[:1] in "'\"“‘" else ""
            closing = {"“": "”", "‘": "’"}.get(quote, quote)
            return f"{quote}…{closing}"
        return original

    return _HIDDEN.sub(put_back, text).strip()

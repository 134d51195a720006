"""How the offline planner reads a request: parts, their order, what each one needs.

Deterministic and rule-based, on purpose (measured by ``bench/planner_eval.py``):

- split at sentence ends (before a capital, or a lower-case instruction word or yes/no
  question unless the full stop ends an abbreviation such as "e.g."; after "?", before
  "and" / "also" with figures; also right after a quote when an instruction follows), at
  numbered items ("1) ... 2) ..." or "Q1: … Q2: …" when the request starts with one;
  without punctuation before, the next number in sequence outside brackets; after a few
  words, "(a) … (b) …" in sequence, the words finishing each item when they ask: "what
  is (a) 2+2 and (b) 3+3"), into as
  many asks as "both:" or "two things:" announces, at bullets ("- …") when every bullet
  asks, at ";" (not in "tl;dr"), at
  "then" / "after that" / "and then" / "and after that", and at "and" / "also" / ","
  when what follows starts a new instruction (a verb such as "count" or "compute"; after
  "and", also a question word; after ",", also a question word when the part before is
  itself an instruction or question, so "What is 2**10, what is 3**5" splits but "For
  each planet, what moons…", "Tell me, what…", "When it rains, what…" and "…, what it
  does" do not);
- never inside quotes, nor in the material after an instruction's colon ("Summarize:
  ...", or a question's when text, not a new question, follows) up to a sentence that
  starts with "Then" / "Next" / "Finally" or a ";" before a new instruction; a quote
  alone after a question is that question's material, and material at the end goes to
  the ask that names it ("count the words in this blurb and then …: '<text>'");
- a part depends on the part before it when it starts with "then", "after that",
  "next", "finally", or refers to "the result", "the answer", "its", "that number",
  "the previous ...", or has "it" / "them" / "that" as the object of its verb
  ("multiply it by 2", "so multiply that by 24"), after a preposition ("add 20% to it")
  or as its last word;
- "the first/second/... result" and "step 2" point at that part; "both results", "the
  two answers" at the two parts before; "all the results", "these results" at every
  earlier part;
- the capability discovery searches with is the part's own words, with long quoted
  material replaced by '…' so that the text to work on does not pick the agent, and
  "it" as the subject of a question after a "who" / "when" question naming one thing
  replaced by that name.

Text pasted on lines of its own next to its ask is first written as that ask's colon
material by `mesh.pasted`. Sentences, lists and material are found by `mesh.material`;
the words that make an ask are in `mesh.wording`; greetings and context statements are
set aside by `mesh.framing`.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from mesh.framing import drop_asides, drop_greetings, set_context_aside, strip_list_header
from mesh.material import (
    DATA_LATER,
    HIDDEN,
    SEMICOLON,
    keep_material,
    list_items,
    material_first,
    sentences,
)
from mesh.pasted import mark_pasted
from mesh.wording import (
    CLAUSE,
    COUNT_WORDS,
    FILLER,
    INSTRUCTION_WORDS,
    QUESTION_WORDS,
    SEPARATELY,
    SEQUENCE,
    VERBS,
    first_word,
    is_instruction,
    lead_word,
    only_lead,
)

MATERIAL_WORDS = 3  # quoted text longer than this is material, not part of the capability

_NOUNS = r"(?:result|answer|output|number|value|sum|total|summary|explanation|definition)"
_PREVIOUS = re.compile(
    rf"\b(?:the|that|this|its|last) {_NOUNS}\b|\b(?:it|that|them)\b\s*[.?!]?$|\bprevious\b"
    r"|\bits\b",
    re.IGNORECASE,
)
_OPERAND_VERBS = (VERBS - {"tl;dr"}) | {"double", "halve", "round", "square", "cube"}
_OPERATES_ON = re.compile(  # "multiply it by 2", "so multiply that by 24", "add 20% to it"
    rf"\b(?:{'|'.join(sorted(_OPERAND_VERBS))})\s+(?:it|them"
    r"|that(?!\s+(?:the|a|an|is|are|was|were|i|we|you|it|there|they)\b))\b"
    r"|\b(?:to|from|by|of|into|on)\s+it\b",
    re.IGNORECASE,
)
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5,
             "1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5}  # fmt: skip
_ORDINAL = re.compile(
    rf"\b({'|'.join(_ORDINALS)}) {_NOUNS}s?\b|\b(?:step|task|part) (\d{{1,2}})\b", re.IGNORECASE
)
_BARE_ORDINAL = re.compile(  # "subtract the second result from the first"
    rf"\bthe ({'|'.join(_ORDINALS)})(?=\s*(?:[.?!,;]|$))", re.IGNORECASE
)
_PLURAL = re.compile(
    rf"\b(both|the two|the three|all(?: the)?|these|those|the) {_NOUNS}s\b|\bboth of them\b"
    r"|\b(the two|the three)(?=\s*(?:[.?!,;]|$))|\ball (?:the )?(two|three|four|five|[2-9])\b",
    re.IGNORECASE,
)
_THEM = re.compile(r"\bthem\b", re.IGNORECASE)
_COUNTS = {**COUNT_WORDS, "the two": 2, "the three": 3}
_QUOTED = re.compile(r"(?<!\w)'.+?'(?!\w)|\"[^\"]*\"|“[^”]*”|‘.+?’(?!\w)", re.DOTALL)
_SOFT_SPLIT = re.compile(
    SEPARATELY
    + "|"
    + SEMICOLON
    + r"|,?\s+(?:and then|and after that|then|after that|and also|also|and)\s+|,\s+",
    re.IGNORECASE,
)
_SUBJECT_PRONOUN = re.compile(  # "when was it released": "it" is what is asked about
    r"^(?:how|what|when|where|which|who|why)(?:\s+\w+){0,2}\s+(?:is|was|are|were|do|does|did"
    r"|has|have|had|can|could|will|would)\s+(it)\b",
    re.IGNORECASE,
)
_NAME = re.compile(r"(?<!^)(?<![.?!:]\s)\b[A-Z][\w-]*(?:\s+[A-Z][\w-]*)*")
_WHO_DID = re.compile(  # "who created python": the lower-case name it asks about
    r"^who\s+(?:[a-z]+ed|wrote|made|built|began|drew|sang|led|won)\s+"
    r"((?:the\s+)?[a-z][\w-]*(?:\s+[a-z][\w-]*)?)\s*[?.!]?$"
)
_SAME_ASK = re.compile(  # "… and why is it so hot?", "… and what are they called?"
    r"why\s+(?:is|are|was|were|does|do|did)\s+(?:it|they|that|this)\b(?!.*\d)"
    r"|what\s+(?:is|are|was|were)\s+(?:it|they)\s+(?:called|named)\b"
)
_REFERS = re.compile(  # a verb on what the statement before gave: "convert that to kg"
    r"\s*\w+\s+(?:it|that|them|those)\b", re.IGNORECASE
)
_PRONOUN_FIRST = re.compile(r"^\s*[a-z]+\s+(?:these|them)\b", re.IGNORECASE)  # "Sort these by"
_DATA_AT_END = re.compile(r":\s*\x00\d+\x00\W*$")


class Part(NamedTuple):
    text: str
    capability: str
    depends_on: tuple[int, ...]  # indices of earlier parts


class Reading(NamedTuple):
    parts: list[Part]
    context: list[str]  # statements that frame the asks and ask nothing themselves


def parse_request(request: str) -> list[Part]:
    """The parts of a request in order, with what each depends on; see the module doc."""
    return read_request(request).parts


def read_request(request: str) -> Reading:
    """The request's parts, and apart from them the statements of context it holds."""
    hidden: list[str] = []

    def hide(text: str) -> str:
        hidden.append(text)
        return f"\x00{len(hidden) - 1}\x00"

    text = request.replace("\x00", " ").strip()  # NUL marks hidden spans below
    masked = mark_pasted(_QUOTED.sub(lambda m: hide(m.group(0)), text))
    masked = strip_list_header(masked, INSTRUCTION_WORDS)
    items: list[list[str]] = []
    context: list[str] = []
    for item in list_items(masked):
        kept = keep_material(drop_greetings(sentences(item)), hide)
        asks, stated = set_context_aside(kept, INSTRUCTION_WORDS)
        items.append(asks)
        context += (_reveal(s.strip(), hidden, short=False) for s in stated)
    parts: list[Part] = []
    used: set[int] = set()  # parts another part depends on
    carried = False  # an order word alone before the next piece ("…? and then, …")
    for sentence in (sentence for item in items for sentence in item):
        for piece, sequenced in _split_soft(material_first(sentence)):
            piece = piece.strip(" ,;")
            if not piece or only_lead(piece):  # "and" before "also, …": no ask
                carried = carried or sequenced or SEQUENCE.match(f"{piece} ") is not None
                continue
            lead = SEQUENCE.match(piece)
            sequenced, carried = sequenced or carried or lead is not None, False
            piece = SEQUENCE.sub("", piece, count=1).strip() or piece
            piece = FILLER.sub("", piece, count=1).strip() or piece
            deps = _references(piece, len(parts), [i for i in range(len(parts)) if i not in used])
            if sequenced and parts:
                deps.add(len(parts) - 1)
            capability = drop_asides(_reveal(piece, hidden, short=True), INSTRUCTION_WORDS)
            if parts and not deps:
                capability = _resolve_subject(capability, parts[-1])
            parts.append(
                Part(
                    text=_reveal(piece, hidden, short=False),
                    capability=capability,
                    depends_on=tuple(sorted(deps)),
                )
            )
            used |= deps
    return Reading(parts, context)


def split_request(request: str) -> list[tuple[str, bool]]:
    """Parts of a request in order, each with whether it depends on an earlier part."""
    return [(part.text, bool(part.depends_on)) for part in parse_request(request)]


def _split_soft(sentence: str) -> list[tuple[str, bool]]:
    pieces: list[tuple[str, bool]] = []
    start, sequenced = 0, False
    for match in _SOFT_SPLIT.finditer(sentence):
        first = first_word(sentence[match.end() :])
        connector = match.group(0).strip().lower()
        is_sequence = "then" in connector or "after" in connector
        if "separately" in connector:
            splits = True
        elif connector == ",":
            lead = sentence[start : match.start()].strip().lower()
            splits = first in VERBS and not only_lead(lead)  # not after "also,"
            if splits and start == 0 and re.search(r"\d", lead) and "?" not in lead:
                # "my suitcase weighs 150 lbs, convert that to kg": the statement is its data
                splits = is_instruction(lead) or not _REFERS.match(sentence[match.end() :])
            if first in QUESTION_WORDS:
                rest = sentence[match.end() :]
                asks = len(rest.split(maxsplit=1)) > 1 and not CLAUSE.match(rest)
                splits = asks and is_instruction(lead)
        else:
            rest = HIDDEN.sub(" ", sentence[match.end() :])
            same_ask = len(rest.split()) < 2 or _SAME_ASK.match(rest)  # "… and why (is it …)"
            new_ask = first in INSTRUCTION_WORDS and not (first in QUESTION_WORDS and same_ask)
            splits = is_sequence or connector == ";" or new_ask
            splits = splits or ("also" in connector and bool(re.search(r"\d", rest)))
        before, after = sentence[start : match.start()], sentence[match.end() :]
        if not HIDDEN.search(before) and (
            (DATA_LATER.search(before) and HIDDEN.search(after))
            or (_PRONOUN_FIRST.match(before) and _DATA_AT_END.search(after))
        ):
            continue  # "From this JSON keep … and give me CSV: [the JSON]" is one ask
        if not splits:
            continue
        pieces.append((before, sequenced))
        start, sequenced = match.end(), is_sequence
    pieces.append((sentence[start:], sequenced))
    return pieces


def _resolve_subject(capability: str, before: Part) -> str:
    """A question whose subject is "it", after a "who" or "when" question, asks about the
    one name that question holds ("Who created Python, and when was it released?"; typed
    in lower case, what "who …ed" names: "who invented the telephone"): its
    answer, a person or a time, is not "it". That name replaces the pronoun in what
    discovery searches; the task's text is left as written. After "what …?", "it" may
    be the answer ("What is the boiling point of water? What is it in °F?"): left alone."""
    pronoun = _SUBJECT_PRONOUN.match(capability)
    if not pronoun or lead_word(before.capability) not in {"who", "when"}:
        return capability
    if not is_instruction(before.capability):
        return capability
    names = [name for name in _NAME.findall(before.capability) if name != "I"]
    if not names and (typed := _WHO_DID.match(before.capability)):  # "who created python"
        names = [typed.group(1)]
    if len(names) != 1:
        return capability
    return capability[: pronoun.start(1)] + names[0] + capability[pronoun.end(1) :]


def _references(masked: str, before: int, unused: list[int]) -> set[int]:
    """Indices of the earlier parts that `masked` (quotes hidden) refers to; "them" is
    every earlier part no other part has used yet ("What is 2**10? What is 3**5? Add
    them up.")."""
    if before == 0:
        return set()
    deps: set[int] = set(unused) if len(unused) > 1 and _THEM.search(masked) else set()
    ordinals = list(_ORDINAL.finditer(masked))
    if ordinals:  # "the first" alone points at a part only beside "the second result"
        ordinals += _BARE_ORDINAL.finditer(masked)
    for match in ordinals:
        number = _ORDINALS.get((match.group(1) or "").lower()) or int(match.group(2) or 0)
        if 1 <= number <= before:
            deps.add(number - 1)
    for match in _PLURAL.finditer(masked):
        word = (match.group(1) or match.group(2) or match.group(3) or "both").lower()
        count = int(word) if word.isdigit() else _COUNTS.get(word, before)
        deps.update(range(max(0, before - count), before))
    if not deps and (_PREVIOUS.search(masked) or _OPERATES_ON.search(masked)):
        deps.add(before - 1)
    return deps


def _reveal(text: str, hidden: list[str], *, short: bool) -> str:
    def put_back(match: re.Match[str]) -> str:
        original = hidden[int(match.group(1))]
        original = HIDDEN.sub(put_back, original)
        if short and len(original.split()) > MATERIAL_WORDS:
            quote = original[0] if original[:1] in "'\"“‘" else ""
            closing = {"“": "”", "‘": "’"}.get(quote, quote)
            return f"{quote}…{closing}"
        return original

    return HIDDEN.sub(put_back, text).strip()

"""How the offline planner reads a request: parts, their order, what each one needs.

Deterministic and rule-based, on purpose (measured by ``bench/planner_eval.py``):

- split at sentence ends (before a capital, or a lower-case instruction word unless the
  full stop ends an abbreviation such as "e.g."; also right after a quote when an
  instruction follows), at numbered items ("1) ... 2) ..." when the request starts with
  one; without punctuation before, the next number in sequence with an instruction
  after it), at ";" (not in "tl;dr"), at "then" / "after that" / "and then" / "and
  after that", and at "and" / "also" / "," when what follows starts a new instruction
  (a verb such as "count" or "compute"; after "and", also a question word; after ",",
  also a question word when the part before is itself an instruction or question, so
  "What is 2**10, what is 3**5" splits but "For each planet, what moons…", "Tell me,
  what…", "When it rains, what…" and "…, what it does" do not);
- never inside quotes, nor in the material after an instruction's colon ("Summarize:
  ...", or a question's when text, not a new question, follows) up to a sentence that
  starts with "Then" / "Next" / "Finally" or a ";" before a new instruction;
- a part depends on the part before it when it starts with "then", "after that",
  "next", "finally", or refers to "the result", "the answer", "its", "that number",
  "the previous ...", or has "it" / "them" / "that" as the object of its verb
  ("multiply it by 2") or last word;
- "the first/second/... result" and "step 2" point at that part; "both results", "the
  two answers" at the two parts before; "all the results", "these results" at every
  earlier part;
- the capability discovery searches with is the part's own words, with long quoted
  material replaced by '…' so that the text to work on does not pick the agent, and
  "it" as the subject of a question after a "who" / "when" question naming one thing
  replaced by that name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from mesh.framing import (
    drop_asides,
    drop_greetings,
    only_greets,
    set_context_aside,
    strip_list_header,
)

QUESTION_WORDS = {"how", "what", "what's", "whats", "when", "where", "which", "who", "why"}
VERBS = {
    "add", "analyse", "analyze", "answer", "ask", "calculate", "check", "compare", "compute",
    "convert", "count", "create", "define", "describe", "divide", "draft", "evaluate",
    "explain", "extract", "filter", "find", "get", "give", "list", "look", "measure",
    "multiply", "name", "search", "show", "solve", "sort", "subtract", "sum", "summarise",
    "summarize", "tell",
    "tl;dr", "tldr", "translate", "work", "write",
}  # fmt: skip
INSTRUCTION_WORDS = VERBS | QUESTION_WORDS
MATERIAL_WORDS = 3  # quoted text longer than this is material, not part of the capability

_SEQUENCE = re.compile(
    r"^(?:and )?(then|after that|afterwards|finally|next)\b[,:]?\s*", re.IGNORECASE
)
_FILLER = re.compile(
    r"^(?:(?:and\s+)?also|and|plus|first(?: of all)?|firstly|separately|additionally|oh and|btw)"
    r"\b[,:]?\s+",
    re.IGNORECASE,
)
_POLITE = re.compile(  # "can you write up a report on: …" is an instruction
    r"^(?:please|pls|kindly|(?:can|could|would|will)\s+(?:you|u)(?:\s+please)?)\s+",
    re.IGNORECASE,
)
_NOUNS = r"(?:result|answer|output|number|value|sum|total|summary|explanation|definition)"
_PREVIOUS = re.compile(
    rf"\b(?:the|that|this|its|last) {_NOUNS}\b|\b(?:it|that|them)\b\s*[.?!]?$|\bprevious\b"
    r"|\bits\b",
    re.IGNORECASE,
)
_OPERATES_ON = re.compile(  # "I need it in hours so multiply that by 24", "add 20% to it after"
    r"\b(?:add|subtract|multiply|divide|convert|double|halve|round|square|cube|compute"
    r"|calculate|sum|count|summari[sz]e|translate|sort|filter)\s+(?:it|them"
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
_COUNTS = {"both": 2, "the two": 2, "the three": 3, "two": 2, "three": 3, "four": 4, "five": 5}
_QUOTED = re.compile(r"(?<!\w)'.+?'(?!\w)|\"[^\"]*\"|“[^”]*”|‘.+?’(?!\w)", re.DOTALL)
_SENTENCE_GAP = re.compile(r"(?<=[.?!])\s+(?=\S)")
_CAPITAL_START = re.compile(r"[A-Z\"'“\x00]")
_ABBREVIATION = re.compile(  # "e.g." "i.e." "approx." end no sentence before lower case
    r"(?:\b\w\.\w|\b(?:al|approx|ca|cf|eq|esp|etc|fig|incl|no|nr|resp|viz|vs))\.$",
    re.IGNORECASE,
)
_SEMICOLON = r"\s*(?<!\btl);(?!\s?dr\b)\s*"  # "tl;dr" is a word
_TLDR = re.compile(r"^tl;\s+dr\b", re.IGNORECASE)
_SOFT_SPLIT = re.compile(
    _SEMICOLON + r"|,?\s+(?:and then|and after that|then|after that|and also|also|and)\s+|,\s+",
    re.IGNORECASE,
)
_LEAD_ONLY = re.compile(
    r"^(?:and )?(?:then|after that|afterwards|finally|next|also|plus|first(?: of all)?|firstly)$"
)
_AFTER_QUOTE = re.compile(r"(?<=\x00)\s+(?=[A-Z])")
_OBJECT_PRONOUN = re.compile(r"^\w+ (?:it|them|that)\b", re.IGNORECASE)
_LIST_START = re.compile(r"^\(?1([.)])\s+")
_BULLET = re.compile(r"(?:^|\n)[ \t]*[-*•][ \t]+")
_HEADER_LINE = re.compile(r"(?:^|(?<=[.?!\n])\s*)[^.?!\n]*:\s*$")  # "I need two things:"
_LIST_ITEM = re.compile(r"\s+\(?(\d{1,2})([.)])(?=\s)")
_COLON = re.compile(r":\s+")
_SEMICOLON_SPLIT = re.compile(_SEMICOLON, re.IGNORECASE)
_SUBJECT_PRONOUN = re.compile(  # "when was it released": "it" is what is asked about
    r"^(?:how|what|when|where|which|who|why)(?:\s+\w+){0,2}\s+(?:is|was|are|were|do|does|did"
    r"|has|have|had|can|could|will|would)\s+(it)\b",
    re.IGNORECASE,
)
_NAME = re.compile(r"(?<!^)(?<![.?!:]\s)\b[A-Z][\w-]*(?:\s+[A-Z][\w-]*)*")
_CLAUSE = re.compile(  # a wh-word opening a clause, not a question: "when it rains"
    r"^(?:how|what|when|where|which|who|why)\s+(?:i|you|we|they|he|she|it|this|that|these"
    r"|those|the|a|an|my|your|our|their|his|her|its)\b",
    re.IGNORECASE,
)
_BARE_TAIL = {"me", "us", "this", "please", "out", "quickly", "briefly"}  # "Tell me, what…"
_HIDDEN = re.compile(r"\x00(\d+)\x00")
_DATA_LATER = re.compile(  # data named before it is given: "this JSON", "the text below"
    r"\b(?:this|these|the\s+following)\s+(?:paragraph|text|passage|essay|email|message|note"
    r"|list|table|data|csv|json|records?|rows|numbers|figures|snippet|sentences?|words|lines"
    r"|blurb|quote|review|post|tweet|bio|caption|article|story|phrase|string|description)\b"
    r"|\bbelow\b",
    re.IGNORECASE,
)
_PRONOUN_FIRST = re.compile(r"^\s*[a-z]+\s+(?:these|them)\b", re.IGNORECASE)  # "Sort these by"
_DATA_AT_END = re.compile(r":\s*\x00\d+\x00\W*$")
_ONLY_MATERIAL = re.compile(r"\s*\x00\d+\x00[\s.?!]*")
_MATERIAL_LAST = re.compile(  # "count the words in this blurb and then …: '<text>'"
    r"(?P<ask>[^\x00]*?)(?P<next>,?\s+(?:and\s+)?(?:then|after\s+that)\b[^\x00]*?)"
    r"(?P<data>:\s*\x00\d+\x00\W*)",
    re.IGNORECASE,
)


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
    masked = strip_list_header(_QUOTED.sub(lambda m: hide(m.group(0)), text), INSTRUCTION_WORDS)
    items: list[list[str]] = []
    context: list[str] = []
    for item in _list_items(masked):
        sentences = _keep_material(drop_greetings(_sentences(item)), hide)
        asks, stated = set_context_aside(sentences, INSTRUCTION_WORDS)
        items.append(asks)
        context += (_reveal(s.strip(), hidden, short=False) for s in stated)
    parts: list[Part] = []
    used: set[int] = set()  # parts another part depends on
    for sentence in (sentence for item in items for sentence in item):
        for piece, sequenced in _split_soft(_material_first(sentence)):
            piece = piece.strip(" ,;")
            if not piece:
                continue
            lead = _SEQUENCE.match(piece)
            sequenced = sequenced or lead is not None
            piece = _SEQUENCE.sub("", piece, count=1).strip() or piece
            piece = _FILLER.sub("", piece, count=1).strip() or piece
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


def _list_items(text: str) -> list[str]:
    """The items of a request that starts with "1)" or "1.": split at a later number
    after punctuation, or at the next number in sequence, in the same style, when an
    instruction follows it ("1) what is 7! 2) convert …"; not "1) compute 2) times 3")."""
    if bulleted := _bullet_items(text):
        return bulleted
    first = _LIST_START.match(text)
    if not first:
        return [text]
    body, items, start, expected = text[first.end() :], list[str](), 0, 2
    for match in _LIST_ITEM.finditer(body):
        number, style = int(match.group(1)), match.group(2)
        punctuated = body[match.start() - 1 : match.start()] in tuple(".?!;:,")
        in_turn = number == expected and style == first.group(1)
        if punctuated or (in_turn and _lead_word(body[match.end() :]) in INSTRUCTION_WORDS):
            items.append(body[start : match.start()].strip())
            start, expected = match.end(), number + 1
    return [*items, body[start:].strip()]


def _bullet_items(text: str) -> list[str]:
    """The asks of a bulleted list whose every bullet asks ("I need two quick things:\n-
    how many words are in …\n- how many days between …"), after what comes before the
    list without its header line; [] when it is not such a list (bullets of data)."""
    bullets = list(_BULLET.finditer(text))
    if len(bullets) < 2:
        return []
    ends = [b.start() for b in bullets[1:]] + [len(text)]
    items = [text[b.end() : end].strip() for b, end in zip(bullets, ends, strict=True)]
    if not all(map(_is_instruction, items)):
        return []
    before = text[: bullets[0].start()]
    header = _HEADER_LINE.search(before)
    if header and not re.search(r"\d", header[0]):
        before = before[: header.start()]
    kept = " ".join(s for s in _sentences(before.strip()) if s.strip() and not only_greets(s))
    return [f"{kept} {items[0]}", *items[1:]] if kept else items  # a statement is context


def _sentence_ends(text: str) -> list[str]:
    """Split after ". " "? " "! " before a capital, or before a lower-case instruction
    word ("… fahrenheit. what is …") unless the full stop ends an abbreviation."""
    out, start = list[str](), 0
    for gap in _SENTENCE_GAP.finditer(text):
        rest = text[gap.end() :]
        lower_case_ask = _first_word(rest) in INSTRUCTION_WORDS and not (
            _ABBREVIATION.search(text[max(0, gap.start() - 16) : gap.start()])
        )
        if _CAPITAL_START.match(rest) or lower_case_ask:
            out.append(text[start : gap.start()])
            start = gap.end()
    return [*out, text[start:]]


def _sentences(text: str) -> list[str]:
    """Split at sentence ends, and after a quote when a capitalised instruction follows."""
    out: list[str] = []
    for sentence in _sentence_ends(text):
        start = 0
        for match in _AFTER_QUOTE.finditer(sentence):
            if _first_word(sentence[match.end() :]) in INSTRUCTION_WORDS:
                out.append(sentence[start : match.start()])
                start = match.end()
        out.append(sentence[start:])
    return out


def _keep_material(sentences: list[str], hide: Callable[[str], str]) -> list[str]:
    """Hide the material after "Instruction: ..." with the sentences that follow it, as
    one span, so that none of it (not even a short sentence) becomes the capability.

    The material ends before a sentence that starts with "Then" / "Next" / "Finally",
    and at a ";" followed by a new instruction ("…: Q1 1200, Q2 900; and what is …"),
    whose text is read on as a sentence of its own."""
    out: list[str] = []
    head, material = "", list[str]()

    def close() -> None:
        text = " ".join(material)
        out.append(head + hide(text) if text.strip() else head.rstrip())
        material.clear()

    queue = list(reversed(sentences))
    while queue:
        sentence = queue.pop()
        if material and _SEQUENCE.match(sentence):
            close()
        if material:
            material.append(sentence)
        else:
            colon = _COLON.search(sentence)
            if colon and _opens_material(sentence[: colon.start()], sentence[colon.end() :]):
                head = sentence[: colon.end()]
            elif colon and "\n" in colon[0] and out and _DATA_LATER.search(out[-1]):
                head = f"{out.pop()} {sentence[: colon.end()]}"  # "… in this paragraph? …:\n…"
            elif out and _ONLY_MATERIAL.fullmatch(sentence):  # "… this sentence? '<text>'"
                out[-1] = f"{out[-1]} {sentence.strip()}"
                continue
            else:
                out.append(sentence)
                continue
            material.append(sentence[colon.end() :])
        end = _material_end(material[-1])
        if end is not None:
            queue.append(material[-1][end.end() :])
            material[-1] = material[-1][: end.start()]
            close()
    if material:
        close()
    return out


def _opens_material(head: str, rest: str) -> bool:
    """Whether what follows the colon is material to work on: after a verb ("Summarize:
    …", "tl;dr: …"), or after a question ("How many sentences does this have: …") when
    it is text, not a new question (no instruction word first, no "?" to end it)."""
    first, lead = _lead_word(head), _strip_lead(head)
    if not rest.strip() or first not in INSTRUCTION_WORDS:
        return False
    if first in VERBS:
        return True
    asks = _lead_word(rest) in INSTRUCTION_WORDS or rest.rstrip().endswith("?")
    return not _CLAUSE.match(lead) and not asks


def _material_end(material: str) -> re.Match[str] | None:
    """The first ";" in colon material that a new instruction follows."""
    for match in _SEMICOLON_SPLIT.finditer(material):
        if _is_instruction(material[match.end() :]):
            return match
    return None


def _material_first(sentence: str) -> str:
    """The material at the end of a sentence moved to the ask that names it, before the
    steps after that ask: "count the words in this blurb and then multiply that by 0.12:
    '<text>'" counts the words of the text and multiplies the count."""
    found = _MATERIAL_LAST.fullmatch(sentence)
    if not found or not _DATA_LATER.search(found["ask"]):
        return sentence
    return f"{found['ask']}{found['data'].rstrip()}{found['next']}"


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
            rest = _HIDDEN.sub(" ", sentence[match.end() :])
            splits = splits or ("also" in connector and bool(re.search(r"\d", rest)))
        before, after = sentence[start : match.start()], sentence[match.end() :]
        if not _HIDDEN.search(before) and (
            (_DATA_LATER.search(before) and _HIDDEN.search(after))
            or (_PRONOUN_FIRST.match(before) and _DATA_AT_END.search(after))
        ):
            continue  # "From this JSON keep … and give me CSV: [the JSON]" is one ask
        if not splits:
            continue
        pieces.append((before, sequenced))
        start, sequenced = match.end(), is_sequence
    pieces.append((sentence[start:], sequenced))
    return pieces


def _is_instruction(text: str) -> bool:
    """Whether `text` (fillers aside) is an instruction or question of its own."""
    text = _strip_lead(text)
    words = text.lower().split()
    if not words or _first_word(text) not in INSTRUCTION_WORDS or _CLAUSE.match(text):
        return False
    return not set(words[1:]) <= _BARE_TAIL


def _resolve_subject(capability: str, before: Part) -> str:
    """A question whose subject is "it", after a "who" or "when" question, asks about the
    one name that question holds ("Who created Python, and when was it released?"): its
    answer, a person or a time, is not "it". That name replaces the pronoun in what
    discovery searches; the task's text is left as written. After "what …?", "it" may
    be the answer ("What is the boiling point of water? What is it in °F?"): left alone."""
    pronoun = _SUBJECT_PRONOUN.match(capability)
    if not pronoun or _lead_word(before.capability) not in {"who", "when"}:
        return capability
    if not _is_instruction(before.capability):
        return capability
    names = [name for name in _NAME.findall(before.capability) if name != "I"]
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
    pronoun_object = _OBJECT_PRONOUN.match(masked) and _first_word(masked) in VERBS
    if not deps and (_PREVIOUS.search(masked) or pronoun_object or _OPERATES_ON.search(masked)):
        deps.add(before - 1)
    return deps


def _strip_lead(text: str) -> str:
    """`text` without a leading order word, filler or "please" ("then", "also", "can you")."""
    text = _FILLER.sub("", _SEQUENCE.sub("", text.strip(), count=1), count=1)
    return _POLITE.sub("", text, count=1)


def _lead_word(text: str) -> str:
    return _first_word(_strip_lead(text))


def _first_word(text: str) -> str:
    words = _TLDR.sub("tl;dr", text.lstrip(), count=1).split(maxsplit=1)
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

"""What in a request frames its asks instead of asking: greetings, a header before a
numbered list, and statements of context.

Used by the offline planner (`mesh.offline`) before it splits a request into parts.
Without it, "Good morning! Write a report on …" planned "Good morning!" as a task of
its own, refused at discovery; "My API keeps getting HTTP 429. What does that status
code mean?" sent the question without the code it was about; and "I drive 45 miles a
day. Compute 45 * 22" planned the statement as a task, refused at discovery, failing a
run whose ask was answered.
"""

from __future__ import annotations

import re

__all__ = [
    "drop_asides",
    "drop_greetings",
    "join_context",
    "set_context_aside",
    "strip_list_header",
]

_GREETING = re.compile(
    r"(?:hi|hello|hey|hiya|howdy|greetings|good\s+(?:morning|afternoon|evening|day)|thanks"
    r"|thank\s+you|cheers)(?:\s+(?:there|all|everyone|team|folks|so\s+much|a\s+lot))?"
    r"\s*[!.,]*",
    re.IGNORECASE,
)
_LIST_HEADER = re.compile(  # "Two things:\n1. …", "A few questions: 1) …"
    r"^\s*(?P<head>[^\n:?!.]{1,40}):\s*(?=\(?1[.)]\s)"
)
_FIRST_PERSON = re.compile(r"^(?:i|i'm|im|i've|i'd|my|we|we're|we've|our|me)\b", re.IGNORECASE)
_REFERS_BACK = re.compile(r"\b(?:which\s+one|that|this|it|these|those|they)\b", re.IGNORECASE)
_ASKS_ANYWAY = re.compile(  # a statement that still asks: "I need the weekday of …"
    r"\b(?:wants?|wanted|need(?:s|ed)?|like|love|wonder(?:ing)?|curious|help|ask(?:s|ed)?"
    r"|looking|trying|hope|wish|please|could|can|would|should|must|have\s+to|has\s+to"
    r"|let|question|questions|interested|require[sd]?|i'd|we'd|i'll|we'll)\b",
    re.IGNORECASE,
)
_FIGURE = re.compile(r"\d")
_TRAILING_ASIDE = re.compile(  # "…, that's how much taller I am", "… since the workshop has …"
    r"(?:,\s+(?:that's|that\s+is|which\s+is|so\s+that|so\s+i|so\s+we|it's\s+for)"
    r"|,?\s+(?:since|because|as)\s+(?:the|my|our|we|i|it|they|there|this|he|she))\b[^?]*$",
    re.IGNORECASE,
)
_DETERMINERS = {"my", "our", "the", "a", "an", "this", "that", "his", "her", "their"}


def drop_greetings(sentences: list[str]) -> list[str]:
    """The sentences without those that only greet or thank; all of them if nothing else
    is left (then discovery refuses the request, naming it)."""
    kept = [s for s in sentences if not _GREETING.fullmatch(s.strip())]
    return kept or sentences


def strip_list_header(text: str, instruction_words: set[str]) -> str:
    """`text` without a short header before a numbered list ("Two things:") that asks
    nothing itself, so the list is read as a list."""
    header = _LIST_HEADER.match(text)
    if not header:
        return text
    words = header["head"].lower().split()
    if not words or words[0] in instruction_words:
        return text
    return text[header.end() :]


def _states(sentence: str, instruction_words: set[str]) -> bool:
    """Whether a sentence states the user's situation: first person, not a question, not
    opening with an instruction."""
    stated = sentence.strip()
    return bool(
        stated
        and _FIRST_PERSON.match(stated)
        and not stated.endswith("?")
        and stated.split()[0].lower() not in instruction_words
    )


def set_context_aside(
    sentences: list[str], instruction_words: set[str]
) -> tuple[list[str], list[str]]:
    """The sentences that ask, and apart from them the statements that only give context
    ("I drive 45 miles a day for 22 days a month.") when another sentence asks.

    A statement is context when nothing in it asks anyway ("I need …", "My boss wants a
    report …" stay asks). Context before an ask without figures of its own is joined to
    it instead, since the ask is then likely about the statement's figures ("I have 3
    apples and 5 pears. How many is that in total?")."""
    asks: list[str] = []
    context: list[str] = []
    pending: list[str] = []
    for sentence in sentences:
        if _states(sentence, instruction_words) and not _ASKS_ANYWAY.search(sentence):
            pending.append(sentence)
            continue
        if pending and _REFERS_BACK.search(sentence):  # join_context joins the last one
            context += pending[:-1]
            asks.append(pending[-1])
        elif pending and not _FIGURE.search(sentence) and any(map(_FIGURE.search, pending)):
            sentence = " ".join([*(p.strip() for p in pending), sentence.strip()])
        else:
            context += pending
        pending = []
        asks.append(sentence)
    if not asks:
        return pending, []
    return asks, context + pending


def join_context(sentences: list[str], instruction_words: set[str]) -> list[str]:
    """Each statement about the user's situation ("My API keeps getting HTTP 429 back.")
    joined to the next sentence when that one asks about it ("What does that status code
    mean?"), so the ask carries what it is about instead of depending on a part that asks
    nothing."""
    out: list[str] = []
    for sentence in sentences:
        before = out[-1] if out else ""
        if _states(before, instruction_words) and _REFERS_BACK.search(sentence):
            out[-1] = f"{before.strip()} {sentence.strip()}"
        else:
            out.append(sentence)
    return out


def drop_asides(capability: str, instruction_words: set[str]) -> str:
    """What discovery searches for an ask, without the purpose before it ("For the road trip
    budget what is 12 times 37": the budget picked the report agent), the situation before
    a question with figures of its own, or the reason after it ("divide the result by 16
    since the workshop has 16 slots" fell under the floor). The task's text keeps them."""
    words = capability.split()
    if len(words) > 3 and words[0].lower() == "for" and words[1].lower() in _DETERMINERS:
        for i in range(3, min(len(words), 9)):
            if words[i].lower().strip(",:") in instruction_words:
                capability = " ".join(words[i:])
                break
    if _FIRST_PERSON.match(capability):  # "we've raised 240 meals …, what's 240 divided by 0"
        for comma in re.finditer(r"[,;—–]\s+", capability):
            rest = capability[comma.end() :]
            if rest.split()[0].lower() in instruction_words:
                if _FIGURE.search(rest) and not _REFERS_BACK.search(rest):
                    capability = rest
                break
    trimmed = _TRAILING_ASIDE.sub("", capability).strip()
    return trimmed if len(trimmed.split()) >= 2 else capability

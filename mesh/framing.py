"""What in a request frames its asks instead of asking: greetings, a header before a
numbered list, and a statement of context that the next sentence asks about.

Used by the offline planner (`mesh.offline`) before it splits a request into parts.
Without it, "Good morning! Write a report on …" planned "Good morning!" as a task of
its own, refused at discovery; "My API keeps getting HTTP 429. What does that status
code mean?" sent the question without the code it was about.
"""

from __future__ import annotations

import re

__all__ = ["drop_greetings", "join_context", "strip_list_header"]

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


def join_context(sentences: list[str], instruction_words: set[str]) -> list[str]:
    """Each statement about the user's situation ("My API keeps getting HTTP 429 back.")
    joined to the next sentence when that one asks about it ("What does that status code
    mean?"), so the ask carries what it is about instead of depending on a part that asks
    nothing."""
    out: list[str] = []
    for sentence in sentences:
        before = out[-1] if out else ""
        stated = before.strip()
        if (
            stated
            and _FIRST_PERSON.match(stated)
            and not stated.endswith("?")
            and stated.split()[0].lower() not in instruction_words
            and _REFERS_BACK.search(sentence)
        ):
            out[-1] = f"{stated} {sentence.strip()}"
        else:
            out.append(sentence)
    return out

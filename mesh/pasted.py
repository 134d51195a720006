"""Text pasted on lines of its own next to the ask about it, read as that ask's material.

Chat users paste text without quotes or a colon: "please summarize this" and the text on
the lines below, or the text first and "can you count the words in that" on the last
line. Read sentence by sentence, each pasted sentence became a task of its own that no
agent matched, and the ask got no text. `mark_pasted` writes such a request the way the
offline planner (`mesh.offline`) already reads material, "<ask>: <text>", so the text
goes whole to the ask and not to discovery.
"""

from __future__ import annotations

import re

from mesh.material import DATA_LATER, sentences
from mesh.wording import VERBS, is_instruction, lead_word, strip_lead

__all__ = ["mark_pasted"]

PASTED_AFTER_WORDS = 20  # text before its ask is pasted, not context, from this many words

_LINE_BREAK = re.compile(r"\n\s*")
_NAMES_WHAT_FOLLOWS = re.compile(  # "summarize this", "… the following", "… text below"
    r"\b(?:this|the\s+following|below)\W*$", re.IGNORECASE
)
_NAMES_WHAT_CAME = re.compile(
    r"\b(?:that|this|it|the\s+above|above)\b", re.IGNORECASE
)  # "summarize that for me", "how many words is the above"
_INLINE = re.compile(  # "can you summarize the following text Our team shipped …"
    r"\bthe\s+following(?:\s+[a-z]+)?(?=\s+[A-Z][a-z])"
)
_TLDR = re.compile(r"\s*tl;?\s?dr\b(?!:)", re.IGNORECASE)  # "tl;dr Our team shipped …"
_FIGURE = re.compile(r"\d")
_NUMBERED_LINE = re.compile(r"^[ \t]*\(?(?:\d{1,2}|[a-j])[.)][ \t]", re.MULTILINE)
_ENDS_SENTENCE = re.compile(r"[.?!:]\s*$")


def mark_pasted(text: str) -> str:
    """`text` with pasted text after a colon behind the ask that names it, if it has some.

    Pasted text has no ask of its own: no sentence in it is an instruction or a
    question. Text on the lines after an ask counts when the line ends naming it ("…
    this", "… the following", "… below") or the ask names it ("this paragraph") or is a
    bare verb ("summarize", "tl;dr"); text before an ask on the last line when the ask
    points back at it ("that", "it", "the above") and the text is pasted, not context
    (see `_pasted_before`: "My rent is 900 a month.\\nhow much is that a year" keeps its
    statement as context). Inline, the text starts after "tl;dr" or after "the following
    (text)" before a capitalised word, if it runs to half that and has no colon. An ask
    whose line ends a sentence or opens with a colon already has its material read by
    `mesh.material`."""
    text = text.strip()
    breaks = list(_LINE_BREAK.finditer(text))
    if breaks:
        first, last = breaks[0], breaks[-1]
        head, body = text[: first.start()].rstrip(), text[first.end() :]
        if _asks_for_what_follows(head) and _only_text(body):
            return f"{head.rstrip(' ,;')}:\n{body}"
        body, tail = text[: last.start()].rstrip(), text[last.end() :]
        if _asks_about_what_came(tail) and _only_text(body) and _pasted_before(body):
            return f"{tail.rstrip(' .?!')}:\n{body}"
    inline = _INLINE.search(text) or _TLDR.match(text)
    if inline and _asks_for_what_follows(text[: inline.end()]):
        rest = text[inline.end() :].strip()
        if len(rest.split()) >= PASTED_AFTER_WORDS // 2 and ":" not in rest and _only_text(rest):
            return f"{text[: inline.end()]}: {rest}"
    return text


def _asks_for_what_follows(head: str) -> bool:
    if _ENDS_SENTENCE.search(head):
        return False
    if _NAMES_WHAT_FOLLOWS.search(head):  # "proofread this": a verb no list holds
        return True
    asks = is_instruction(head) or lead_word(head) in VERBS
    return asks and (bool(DATA_LATER.search(head)) or len(strip_lead(head).split()) == 1)


def _pasted_before(body: str) -> bool:
    """Whether text before its ask is pasted, not the context of the ask: long, or
    several sentences without figures (context gives figures: "My rent is 900 a month.
    I pay 60 for power.")."""
    if len(body.split()) >= PASTED_AFTER_WORDS:
        return True
    return len([s for s in sentences(body) if s.strip()]) > 1 and not _FIGURE.search(body)


def _asks_about_what_came(tail: str) -> bool:
    return is_instruction(tail) and bool(_NAMES_WHAT_CAME.search(tail) or DATA_LATER.search(tail))


def _only_text(body: str) -> bool:
    """Whether `body` is text to work on: some words, no sentence that asks, and not a
    numbered list (`mesh.framing` reads its header, `mesh.material` its items; bullets
    under a header read with its colon, which this adds)."""
    if len(_NUMBERED_LINE.findall(body)) > 1:
        return False
    said = [s for s in sentences(body) if s.strip()]
    return bool(said) and not any(is_instruction(s) or s.rstrip().endswith("?") for s in said)

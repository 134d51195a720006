"""The words that make a sentence an ask: instruction verbs, question words, and the
order words, fillers and politeness before them ("then", "also", "can you").

Shared by the offline planner (`mesh.offline`) and its reading of lists and material
(`mesh.material`).
"""

from __future__ import annotations

import re

__all__ = [
    "BARE_ASK",
    "CLAUSE",
    "COUNT_WORDS",
    "FILLER",
    "INSTRUCTION_WORDS",
    "MISSPELT",
    "QUESTION_WORDS",
    "SEPARATELY",
    "SEQUENCE",
    "VERBS",
    "first_word",
    "is_instruction",
    "lead_word",
    "only_lead",
    "respell",
    "strip_lead",
]

MISSPELT = {"celcius": "celsius", "celsuis": "celsius", "farenheit": "fahrenheit"}
MISSPELT |= {"fahrenheight": "fahrenheit", "farenheight": "fahrenheit"}
"""Words as often typed, and how they are spelt: discovery searches them as spelt, and
the units agent reads them as the units they name."""
_MISSPELLING = re.compile(rf"\b(?:{'|'.join(MISSPELT)})\b", re.IGNORECASE)
COUNT_WORDS = {"both": 2, "two": 2, "three": 3, "four": 4, "five": 5}  # "do both:", "both results"
QUESTION_WORDS = {"how", "what", "what's", "whats", "when", "where", "which", "who", "why"}
VERBS = {
    "add", "analyse", "analyze", "answer", "ask", "calculate", "check", "compare", "compute",
    "convert", "count", "create", "define", "describe", "divide", "draft", "evaluate",
    "explain", "extract", "filter", "find", "get", "give", "list", "look", "measure",
    "multiply", "name", "search", "show", "solve", "sort", "subtract", "sum", "summarise",
    "summarize", "tell",
    "tl;dr", "tldr", "translate", "turn", "work", "write",
}  # fmt: skip
INSTRUCTION_WORDS = VERBS | QUESTION_WORDS
SEQUENCE = re.compile(
    r"^(?:and )?(then|after that|afterwards|finally|next)\b[,:]?\s*", re.IGNORECASE
)
SEPARATELY = (  # "… -- and separately, is 2028 a leap year?" starts a new ask
    r"(?:\s*(?:--|—|–|;|,)\s*(?:and\s+)?|\s+and\s+)separately\b,?\s*|\s+separately,\s*"
)
FILLER = re.compile(
    r"^(?:(?:and\s+)?also|and|plus|first(?: of all)?|firstly|separately|additionally|oh and|btw)"
    r"\b[,:]?\s+",
    re.IGNORECASE,
)
BARE_ASK = re.compile(  # a header that asks for whatever the list under it names
    r"(?:(?:(?:can|could|would)\s+(?:you|u)|please|pls)\s+)*(?:give|tell|get|show|send|find"
    r"|calculate|compute|work\s+out|figure\s+out|answer)(?:\s+(?:me|us))?"
    r"(?:\s+(?:the\s+following|these|quickly|please|pls))?"
    r"|i\s+(?:need|want|would\s+like|'d\s+like)(?:\s+to\s+know)?",
    re.IGNORECASE,
)
_POLITE = re.compile(  # "can you write up a report on: …" is an instruction
    r"^(?:please|pls|kindly|(?:can|could|would|will)\s+(?:you|u)(?:\s+please)?)\s+",
    re.IGNORECASE,
)
_TLDR = re.compile(r"^tl;\s+dr\b", re.IGNORECASE)
CLAUSE = re.compile(  # a wh-word opening a clause, not a question: "when it rains"
    r"^(?:how|what|when|where|which|who|why)\s+(?:i|you|we|they|he|she|it|this|that|these"
    r"|those|the|a|an|my|your|our|their|his|her|its)\b",
    re.IGNORECASE,
)
_BARE_TAIL = {"me", "us", "this", "please", "out", "quickly", "briefly"}  # "Tell me, what…"


def is_instruction(text: str) -> bool:
    """Whether `text` (fillers aside) is an instruction or question of its own."""
    text = strip_lead(text)
    words = text.lower().split()
    if not words or first_word(text) not in INSTRUCTION_WORDS or CLAUSE.match(text):
        return False
    return not set(words[1:]) <= _BARE_TAIL


def strip_lead(text: str) -> str:
    """`text` without a leading order word, filler or "please" ("then", "also", "can you")."""
    text = FILLER.sub("", SEQUENCE.sub("", text.strip(), count=1), count=1)
    return _POLITE.sub("", text, count=1)


def only_lead(text: str) -> bool:
    """Whether `text` is nothing but order words and fillers ("also", "and then", "btw")."""
    return not FILLER.sub("", SEQUENCE.sub("", f"{text.strip()} ", count=1), count=1).strip()


def lead_word(text: str) -> str:
    return first_word(strip_lead(text))


def first_word(text: str) -> str:
    words = _TLDR.sub("tl;dr", text.lstrip(), count=1).split(maxsplit=1)
    return words[0].lower().strip(",:") if words else ""


def respell(text: str) -> str:
    """`text` with the words of `MISSPELT` as they are spelt ("72 F in celcius")."""
    return _MISSPELLING.sub(lambda m: MISSPELT[m[0].lower()], text)

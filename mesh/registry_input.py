"""What callers give the registry, checked: cards, versions, states and queries.

Each check raises an `InputError` that names what is wrong and how to fix it, before
anything is embedded or written, so a bad card or query changes nothing.
"""

from __future__ import annotations

import re
from typing import Any

from packaging.version import InvalidVersion, Version
from pydantic import ValidationError as PydanticValidationError

from mesh.errors import InputError
from mesh.models import MAX_QUERY_CHARS, AgentCard, AgentState
from mesh.wording import respell

_FIXES = {
    "missing": "add it",
    "extra_forbidden": "remove it (a card has: name, description, version, owner, skills,"
    " endpoint, tags, state, heartbeat_ttl, metadata, subscribes)",
    "string_too_short": "give it a non-empty value",
    "string_too_long": "shorten it",
    "enum": "use one of the listed values",
    "greater_than": "use a positive number of seconds",
    "list_type": "give a JSON list",
    "string_type": "give a string",
    "dict_type": "give a JSON object",
    "json_invalid": "fix the JSON syntax at the position shown",
}


def parse_card(raw: Any) -> AgentCard:
    """A card from a dict or JSON text, with an InputError naming each bad field and its fix."""
    try:
        if isinstance(raw, str | bytes):
            return AgentCard.model_validate_json(raw)
        return AgentCard.model_validate(raw)
    except PydanticValidationError as exc:
        problems = []
        for e in exc.errors():
            where = ".".join(str(p) for p in e["loc"]) or "card"
            fix = _FIXES.get(e["type"])
            problems.append(f"{where}: {e['msg']}" + (f" ({fix})" if fix else ""))
        raise InputError(f"invalid agent card: {'; '.join(problems)}") from exc


def parse_version(card: AgentCard) -> Version:
    try:
        return Version(card.version)
    except InvalidVersion as exc:
        raise InputError(
            f"agent {card.name!r}: version {card.version!r} is not a version number; use"
            " one such as 1.2.0"
        ) from exc


def parse_state(value: AgentState | str) -> AgentState:
    try:
        return AgentState(value)
    except ValueError as exc:
        allowed = ", ".join(s.value for s in AgentState)
        raise InputError(f"state {value!r} is not one of: {allowed}") from exc


URL = re.compile(r"\b(?:https?|ftp)://\S+|\bwww\.\S+", re.IGNORECASE)
"""A link as people write one: with its scheme, or from "www."."""
_POWER_ORDINAL = re.compile(r"\bto the (\d+)(?:st|nd|rd|th)\b(?: power\b)?", re.IGNORECASE)
_FACTORIAL = re.compile(r"(?<![\w.])(\d{1,3})!(?!=)")
_TIMES = re.compile(r"(?<=\d)\s*[x×]\s*(?=\d)")  # "1,250 x 48"


def searchable(query: str) -> str:
    """The query as discovery reads it, with each URL as the word "url": a host and path
    ("intranet.local/wiki/onboarding") name a place, not what to do there, and counted as
    rare words no card holds ("read the web page at http://intranet.local/wiki/onboarding"
    scored the web reader 0.16, under the floor; 0.66 with "url").

    Math written as notation is searched in words, which the cards hold: "2 to the 12th"
    as "2 to the power of 12" (calculator 0.195 -> 0.481), "7!" as "7 factorial"
    (0.173 -> 0.483), "1,250 x 48" as "1,250 times 48" (0.158 -> 0.530). The units'
    names as often misspelt are searched as spelt: "whats that in celcius" (units 0.184,
    under the floor, -> 0.207)."""
    query = _POWER_ORDINAL.sub(r"to the power of \1", URL.sub("url", query))
    query = respell(_TIMES.sub(" times ", query))
    return _FACTORIAL.sub(r"\1 factorial", query)


def check_query(query: Any, what: str = "search query") -> str:
    """The query with its whitespace collapsed, or an InputError saying what is wrong."""
    if not isinstance(query, str) or not query.strip():
        raise InputError(f"{what} is empty: describe what the agent should do")
    text = " ".join(query.split())
    if len(text) > MAX_QUERY_CHARS:
        raise InputError(
            f"{what} has {len(text)} characters, over {MAX_QUERY_CHARS}: describe the task"
            " briefly (the details go in the task's inputs)"
        )
    return text

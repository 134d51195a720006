"""Passages and sentences of the knowledge agent's documents: what is indexed, and what
an answer quotes."""

from __future__ import annotations

import re

MAX_CHUNK_CHARS = 1200


def split_chunks(text: str) -> list[str]:
    """Paragraphs of a document; a heading stays with the paragraph under it."""
    chunks: list[str] = []
    heading = ""
    for block in re.split(r"\n\s*\n", text.strip()):
        block = block.strip()
        if not block:
            continue
        if all(line.lstrip().startswith("#") for line in block.splitlines()):
            heading = f"{heading}\n{block}".strip()
            continue
        if heading:
            block, heading = f"{heading}\n{block}", ""
        chunks.extend(_split_long(block))
    if heading:
        chunks.append(heading)
    return chunks


def _split_long(block: str) -> list[str]:
    if len(block) <= MAX_CHUNK_CHARS:
        return [block]
    parts: list[str] = []
    current = ""
    for sentence in split_sentences(block):
        if current and len(current) + len(sentence) + 1 > MAX_CHUNK_CHARS:
            parts.append(current)
            current = ""
        current = f"{current} {sentence}".strip()
    return [*parts, current] if current else parts


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


def split_sentences(chunk: str) -> list[str]:
    """Sentences of a chunk without markdown headings; list items count as sentences.

    A line that introduces a list (ending in ':') is quoted as a sentence ending in '.'.
    """
    units: list[str] = []
    for line in chunk.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            if not stripped and units and units[-1]:
                units.append("")
            continue
        if _BULLET.match(stripped) or not units or not units[-1]:
            units.append(_BULLET.sub("", stripped))
        else:
            units[-1] = f"{units[-1]} {stripped}"
    sentences: list[str] = []
    for unit in units:
        sentences.extend(s.strip() for s in _SENTENCE_END.split(unit) if s.strip())
    return [f"{s[:-1]}." if s.endswith(":") else s for s in sentences]

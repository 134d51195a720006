"""Keeping a registry's in-memory copy in step with writes made by other processes.

Several processes may share one registry (`mesh ui` while `mesh agents register` runs
in a terminal, or meshes on one Chroma server). Each write replaces a token in the
collection's metadata (:meth:`CardStore.mark`); a registry that finds a token it did
not write catches up from the card records alone: it drops the agents that are gone,
takes new states and heartbeats as they are, and indexes new or changed cards. Their
vectors are read from the store, or embedded here when the store cannot give them
(embedded Chroma does not show one process the vectors another wrote since it
opened; the same model gives the same vectors).

Every card write stamps the card record with the writer's clock (its ``heartbeat``), so
catching up reads only the cards written since the last catch-up (less `CLOCK_SKEW`),
and the ids of the others only when the store's record count shows a removal;
`Registry.refresh` reads them all. Outcomes carry no token:
on the same cadence the registry reads those stamped since its last look
(:meth:`mesh.outcomes.OutcomeStore.catch_up`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from mesh.models import AgentCard
from mesh.registry_index import CARD_SUFFIX, RegistryIndex, records
from mesh.registry_store import PAGE, CardStore, stored_vectors

log = logging.getLogger(__name__)

CLOCK_SKEW = 30.0  # seconds by which writers' clocks may trail this process's


class Watcher:
    """Whether another process wrote since this one last caught up, asked at most every
    `every` seconds (None: never; the caller then calls `Registry.refresh` itself)."""

    def __init__(self, store: CardStore, every: float | None) -> None:
        self.store, self.every = store, every
        self._seen: str | None = None
        self._next = 0.0

    def loaded(self) -> None:
        """The copy is now as current as the store's token says."""
        self._seen = self.store.generation()
        self._next = time.monotonic() + (self.every or 0.0)

    def tick(self) -> bool:
        """Whether it is time to look again (`every` seconds since the last look): then
        for changed cards (`changed`) and for outcomes (polled: their filtered read
        costs ~1 ms more than reading a token, which would cost every outcome a
        collection write; see bench/RESULTS.md)."""
        if self.every is None or time.monotonic() < self._next:
            return False
        self._next = time.monotonic() + self.every
        return True

    def changed(self) -> bool:
        """Whether another process wrote cards since this one last caught up."""
        token = self.store.generation()
        return token is not None and token != self._seen

    def wrote(self) -> None:
        """After a write of ours: tell other processes, and note if one of them wrote too."""
        before = self.store.generation()
        token = self.store.mark()
        if token is not None and before == self._seen:
            self._seen = token
        elif token is not None:
            self._seen, self._next = None, 0.0  # catch up at the next read


def stored_cards(store: CardStore, since: float | None) -> dict[str, tuple[AgentCard, float]]:
    """The cards written at or after `since` (all if None), with their last heartbeat,
    read without vectors."""
    out: dict[str, tuple[AgentCard, float]] = {}
    where: dict[str, Any] = {"kind": "card"}
    if since is not None:
        where = {"$and": [where, {"heartbeat": {"$gte": since}}]}
    offset = 0
    while True:
        page = store.collection.get(where=where, include=["metadatas"], limit=PAGE, offset=offset)
        if not page["ids"]:
            return out
        for rid, meta in zip(page["ids"], page["metadatas"], strict=True):
            try:
                card = AgentCard.model_validate_json(str((meta or {})["card"]))
            except (KeyError, PydanticValidationError) as exc:
                log.warning("skipping unreadable card record %s (%s)", rid, exc)
                continue
            out[card.name] = (card, float((meta or {}).get("heartbeat") or 0.0))
        offset += len(page["ids"])


def stored_names(store: CardStore) -> set[str]:
    """The names of the agents the store holds (ids only: no metadata, no vectors)."""
    names: set[str] = set()
    offset = 0
    while True:
        page = store.collection.get(where={"kind": "card"}, include=[], limit=PAGE, offset=offset)
        if not page["ids"]:
            return names
        names.update(rid.removesuffix(CARD_SUFFIX) for rid in page["ids"])
        offset += len(page["ids"])


def catch_up(
    store: CardStore,
    index: RegistryIndex,
    embed: Callable[[list[str]], Any],
    since: float | None = None,
) -> list[str]:
    """Apply the cards written since `since` (all if None) and every removal to `index`;
    the names of the agents that changed.

    Removals leave no record to read by time, so with `since` they are found by count:
    the store's records, counted before reading, match the index's once the new cards
    are in unless something was removed (or written meanwhile); only then are all the
    card ids read.
    """
    total = store.collection.count() if since is not None else None
    stored = stored_cards(store, since)
    changed = _apply(stored, index, store, embed)
    if total is None or index.size[2] != total:
        present = set(stored) if since is None else stored_names(store)
        gone = [name for name in index.agents if name not in present]
        for name in gone:
            index.remove(name)
        changed += gone
    return changed


def _apply(
    stored: dict[str, tuple[AgentCard, float]],
    index: RegistryIndex,
    store: CardStore,
    embed: Callable[[list[str]], Any],
) -> list[str]:
    """Put the cards read into `index`; the names of those that changed."""
    changed: list[str] = []
    fresh: list[tuple[AgentCard, float]] = []
    for name, (card, beat) in stored.items():
        entry = index.agents.get(name)
        if entry is None or records(entry.card) != records(card):
            fresh.append((card, beat))
        elif entry.card_json != card.model_dump_json() or entry.last_beat != beat:
            entry.card = card
            index.set_state(entry, card.state, beat)
        else:
            continue
        changed.append(name)
    if fresh:
        recs = [records(card) for card, _ in fresh]
        flat = [r for rs in recs for r in rs]
        ids, texts = [r.id for r in flat], [r.text for r in flat]
        vectors = stored_vectors(store.collection, ids, texts, embed, "card records")
        at = 0
        for (card, beat), rs in zip(fresh, recs, strict=True):
            index.add(card, rs, vectors[at : at + len(rs)], beat)
            at += len(rs)
    return changed


def notify(listeners: Iterable[Callable[[list[str]], object]], names: list[str]) -> None:
    """Tell each listener which agents changed; one failing does not stop the others (the
    write is stored: a listener's failure must not undo it)."""
    for listener in listeners:
        try:
            listener(names)
        except Exception:
            log.exception("a registry listener failed on %s", ", ".join(names[:20]))

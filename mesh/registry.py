"""The registry: agent cards in Chroma, found by what they can do, learning from every run.

A card is stored as one vector for the whole card, one per skill and one per example, so
a query can match one skill of a broad agent. Chroma is the store of record
(:mod:`mesh.registry_store`); an in-memory index (:mod:`mesh.registry_index`) mirrors it
so filters cost microseconds and ranking can combine dense, lexical and learned evidence
(:mod:`mesh.ranking`).

Writes are all-or-nothing: validation, the write hook and the embeddings all run before
the store is touched, a store failure part-way through is rolled back, and memory
changes only after the store accepted the write.
"""

from __future__ import annotations

import builtins
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from mesh.errors import AgentNotFound, InputError
from mesh.models import AgentCard, AgentState, Match
from mesh.outcomes import OutcomeStore
from mesh.ranking import Filters, Query, RankingWeights, Scored, rank
from mesh.registry_index import EXACT_ROWS, RegistryIndex, records
from mesh.registry_input import check_query, parse_card, parse_state, parse_version, searchable
from mesh.registry_store import (
    PAGE,
    CardStore,
    Put,
    QueryVectors,
    embed_documents,
    embedding_from_settings,
    read_index,
)
from mesh.registry_sync import CLOCK_SKEW, Watcher, catch_up, notify

log = logging.getLogger(__name__)

MAX_K = 1000
WATCH_SECONDS = 2.0

WriteHook = Callable[[str, AgentCard | None, str], None]
"""Called as hook(action, card, name) before a write; raise to refuse it.

Actions: "register", "update", "heartbeat", "remove".
"""


class Registry:
    """Register, update, look up and search agent cards. Thread-safe; persisted in Chroma.

    ``namespace`` prefixes the two collections (``<namespace>_agents`` and
    ``<namespace>_outcomes``), so several meshes can share one Chroma server.
    """

    def __init__(
        self,
        client: Any,
        embedding_function: Any,
        *,
        namespace: str = "mesh",
        weights: RankingWeights | None = None,
        exact_rows: int = EXACT_ROWS,
        clock: Callable[[], float] = time.time,
        watch: float | None = WATCH_SECONDS,
    ) -> None:
        from mesh.vectorstore.client import get_collection

        self._client = client
        self._clock = clock
        self._embed = embedding_function
        agents_name = f"{namespace}_agents"
        self._agents = get_collection(client, agents_name, embedding_function)
        self._outcomes = get_collection(client, f"{namespace}_outcomes", embedding_function)
        self.weights = weights or RankingWeights()
        self.exact_rows = exact_rows
        self.write_hook: WriteHook | None = None
        self.listeners: builtins.list[Callable[[builtins.list[str]], object]] = []
        """Called with the names of the agents a write changed: one of ours once it is
        stored, or another process's once this registry caught up with it."""
        self._lock = threading.RLock()
        query_embed = getattr(embedding_function, "embed_query", embedding_function)
        self._queries = QueryVectors(query_embed)
        try:
            batch = int(client.get_max_batch_size())
        except Exception:
            batch = PAGE
        self._store = CardStore(
            self._agents,
            batch,
            lambda: client.get_collection(
                f"{namespace}_agents", embedding_function=embedding_function
            ),
        )
        self.watcher = Watcher(self._store, watch)
        self._index = RegistryIndex()
        self._learned = OutcomeStore(self._outcomes, query_embed, clock)
        self._load()

    # -- loading --------------------------------------------------------------------------

    def _load(self) -> None:
        """Rebuild the index from the store; re-index cards whose records are incomplete."""
        self._caught_up = self._clock()
        self.watcher.loaded()
        self._index, repair, stale = read_index(self._store, self._clock)
        if repair:
            log.info("re-indexing %d agent cards stored by an older version", len(repair))
            self._write(repair, action=None)
        self._store.delete(stale)

    def _sync(self) -> None:
        if self.watcher.tick():
            with self._lock:
                if self.watcher.changed():
                    self._catch_up(since=self._caught_up - CLOCK_SKEW)
                self._learned.poll(self._index.agents)

    def refresh(self) -> None:
        """Catch up now with other processes' writes, reading every card and outcome (reads
        catch up within `watch` seconds, reading only what was written since the last time)."""
        with self._lock:
            self._catch_up(since=None)
            self._learned.catch_up(self._index.agents, since=None)

    def _catch_up(self, since: float | None) -> None:
        """Under the lock (both callers hold it)."""
        started = self._clock()
        self.watcher.loaded()
        changed = catch_up(self._store, self._index, self._embed, since)
        self._learned.forget([n for n in changed if n not in self._index.agents], store=False)
        self._caught_up = started
        if changed:
            log.info("caught up with other processes' writes to %s", ", ".join(changed[:20]))
            notify(self.listeners, changed)

    # -- writes ---------------------------------------------------------------------------

    def register(self, card: AgentCard | dict[str, Any] | str) -> AgentCard:
        """Add a card, or replace the card of that name whatever its version; all-or-nothing."""
        return self.register_many([card])[0]

    def register_many(
        self, cards: Iterable[AgentCard | dict[str, Any] | str]
    ) -> builtins.list[AgentCard]:
        """Add or replace many cards in one all-or-nothing write."""
        parsed = [c if isinstance(c, AgentCard) else parse_card(c) for c in cards]
        names = [c.name for c in parsed]
        if len(set(names)) != len(names):
            twice = sorted({n for n in names if names.count(n) > 1})
            raise InputError(f"the batch names agents more than once: {twice}; register each once")
        for card in parsed:
            parse_version(card)
        self._write(parsed, action="register")
        return parsed

    def update(self, card: AgentCard | dict[str, Any] | str) -> AgentCard:
        """Replace a registered card with a newer version of it (the version must increase)."""
        new = card if isinstance(card, AgentCard) else parse_card(card)
        old = self.get(new.name)
        if parse_version(new) <= parse_version(old):
            raise InputError(
                f"agent {new.name!r}: version {new.version!r} does not increase on the"
                f" registered {old.version!r}; raise the version to update"
            )
        self._write([new], action="update")
        return new

    def deregister(self, name: str) -> None:
        """Remove an agent, its records and what runs taught about it."""
        card = self.get(name)
        if self.write_hook:
            self.write_hook("remove", card, name)
        with self._lock:
            self._store.remove(self._current(name))
            self._index.remove(name)
            self._learned.forget(name)
            self._wrote([name])

    def heartbeat(self, name: str, state: AgentState | str | None = None) -> AgentCard:
        """The agent is alive (optionally now busy, draining, available or offline).

        A card with ``heartbeat_ttl`` that misses its heartbeat for longer than that is
        offline, so out of discovery, until the next heartbeat.
        """
        self.get(name)
        new_state = None if state is None else parse_state(state)
        with self._lock:
            entry = self._index.agents[name]
            new = entry.card.model_copy(update={"state": new_state or entry.card.state})
            if self.write_hook:
                self.write_hook("heartbeat", new, name)
            now = self._clock()
            self._store.set_card(new, records(new)[0], now)
            entry.card = new
            self._index.set_state(entry, new.state, now)
            self._wrote([name])
        return self.get(name)

    def _write(self, cards: list[AgentCard], action: str | None) -> None:
        if action and self.write_hook:
            for card in cards:
                self.write_hook(action, card, card.name)
        recs = [records(card) for card in cards]
        vectors = embed_documents(self._embed, [r.text for rs in recs for r in rs])
        now = self._clock()
        new: list[Put] = []
        at = 0
        for card, rs in zip(cards, recs, strict=True):
            new.append((card, rs, vectors[at : at + len(rs)], now))
            at += len(rs)
        with self._lock:
            old = [self._current(c.name) for c in cards if c.name in self._index.agents]
            self._store.put(new, old)
            before = {put[0].name: put[0].version for put in old}
            for card, rs, vecs, beat in new:
                self._index.add(card, rs, vecs, beat)
            self._wrote([c.name for c in cards])
            self._learned.forgive(
                [c.name for c in cards if before.get(c.name, c.version) != c.version]
            )

    def _wrote(self, names: builtins.list[str]) -> None:
        self.watcher.wrote()
        notify(self.listeners, names)

    def _current(self, name: str) -> Put:
        """What the store holds for `name`, as memory knows it (to restore it if need be)."""
        entry = self._index.agents[name]
        return (entry.card, records(entry.card), self._index.vectors(entry.rows), entry.last_beat)

    # -- reads ----------------------------------------------------------------------------

    def get(self, name: str) -> AgentCard:
        """The card, with its state as discovery sees it (offline once its heartbeat lapsed)."""
        self._sync()
        return self._get(name)

    def _get(self, name: str) -> AgentCard:
        entry = self._index.agents.get(name)
        if entry is None:
            known = sorted(self._index.agents)
            shown = ", ".join(known[:20]) + (" …" if len(known) > 20 else "") or "none"
            raise AgentNotFound(f"no agent named {name!r} is registered (registered: {shown})")
        state = self._index.effective_state(entry, self._clock())
        card = entry.card
        return card if state == card.state else card.model_copy(update={"state": state})

    def list(self, *, state: AgentState | str | None = None) -> builtins.list[AgentCard]:
        self._sync()
        cards = [self._get(n) for n in sorted(self._index.agents)]
        return cards if state is None else [c for c in cards if c.state == parse_state(state)]

    def __contains__(self, name: object) -> bool:
        self._sync()
        return name in self._index.agents

    def __len__(self) -> int:
        self._sync()
        return len(self._index.agents)

    @property
    def size(self) -> dict[str, int]:
        agents, skills, vectors = self._index.size
        return {
            "agents": agents,
            "skills": skills,
            "vectors": vectors,
            "outcomes": len(self._learned),
        }

    # -- search ---------------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        state: str | AgentState | None = AgentState.AVAILABLE,
        tags: Iterable[str] = (),
        owner: str | None = None,
        capability: str | None = None,
        input_mode: str | None = None,
        output_mode: str | None = None,
    ) -> builtins.list[Match]:
        """Agents ranked for `query`, best first, each with its best skill and a score in [0, 1].

        Filters: ``state`` (default available; None for any; an agent whose heartbeat
        lapsed is offline), ``tags`` (all of them, on the card or a skill), ``owner``,
        ``capability`` (a skill name or skill tag), ``input_mode``/``output_mode`` (a MIME
        type the skill accepts or produces; ``image/*`` on the skill matches ``image/png``).
        """
        filters = Filters.of(state, tags, owner, capability, input_mode, output_mode)
        text, vector = self._prepare(query, k)
        with self._lock:
            return [self._match(s) for s in self._rank(text, vector, k, filters)[:k]]

    def explain(
        self,
        query: str,
        k: int = 5,
        *,
        state: str | AgentState | None = AgentState.AVAILABLE,
        tags: Iterable[str] = (),
        owner: str | None = None,
        capability: str | None = None,
        input_mode: str | None = None,
        output_mode: str | None = None,
    ) -> builtins.list[dict[str, Any]]:
        """What `search` would return (with the same filters), and the evidence behind each
        agent's score."""
        given = Filters.of(state, tags, owner, capability, input_mode, output_mode)
        text, vector = self._prepare(query, k)
        with self._lock:
            scored = self._rank(text, vector, k, given)
            return [
                {
                    "agent": s.name,
                    "skill": self._skill_name(s),
                    "score": round(s.score, 4),
                    "evidence": {f: round(v, 4) for f, v in s.features.items()},
                }
                for s in scored[:k]
            ]

    def _prepare(self, query: Any, k: Any) -> tuple[str, npt.NDArray[np.float32]]:
        """The checked query text and its vector (embedded before taking the lock)."""
        self._sync()
        text = searchable(check_query(query))
        if not isinstance(k, int) or not 1 <= k <= MAX_K:
            raise InputError(f"k must be an integer from 1 to {MAX_K}, got {k!r}")
        return text, self._queries.vector(text)

    def _rank(
        self, text: str, vector: npt.NDArray[np.float32], k: int, filters: Filters
    ) -> builtins.list[Scored]:
        """Every candidate agent scored, best first; the caller holds the lock."""
        q = Query(vector=vector, terms=self._index.lexical.query_terms(text), k=k)
        return rank(
            self._index,
            q,
            filters,
            self._learned,
            self.weights,
            now=self._clock(),
            ann=self._ann,
            exact_rows=self.exact_rows,
        )

    def _ann(self, vector: npt.NDArray[np.float32], n: int) -> Sequence[str]:
        hits = self._agents.query(query_embeddings=[vector], n_results=n, include=[])
        return list(hits["ids"][0])

    def _skill_name(self, s: Scored) -> str | None:
        return self._index.agents[s.name].skills[s.skill] if s.skill >= 0 else None

    def _match(self, s: Scored) -> Match:
        card = self._get(s.name)
        skill = card.skills[s.skill] if s.skill >= 0 else None
        return Match(card=card, skill=skill, score=round(s.score, 4))

    # -- learning -------------------------------------------------------------------------

    def record_outcome(self, query: str, agent: str, success: bool) -> None:
        """Remember how `agent` did on `query`; similar later queries are ranked by it."""
        self._sync()
        text = searchable(check_query(query, what="outcome query"))
        if agent not in self._index.agents:
            raise AgentNotFound(
                f"cannot record an outcome for {agent!r}: no such agent is registered"
            )
        vector = self._queries.vector(text)
        with self._lock:
            self._learned.record(text, vector, agent, bool(success))

    def dump(self) -> str:
        return json.dumps([c.model_dump(mode="json") for c in self.list()], indent=2)


__all__ = ["Registry", "WriteHook", "embedding_from_settings", "parse_card", "parse_version"]

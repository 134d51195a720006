"""The registry: agent cards in Chroma, searchable by meaning, one record per skill.

A card is indexed whole and per skill, so a query can match one skill of a broad agent.
Writes are computed in full (validation, embeddings) before anything touches the store,
then land in one upsert: a bad card or a failing embedding leaves nothing behind.
Outcomes of past runs live in a second collection and nudge later rankings.
"""

from __future__ import annotations

import builtins
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from mesh.errors import AgentNotFound, InputError, RegistryError
from mesh.models import AgentCard, AgentState, Match, Skill

AGENTS = "mesh_agents"
OUTCOMES = "mesh_outcomes"
OVERFETCH = 8
OUTCOME_NEIGHBOURS = 8
OUTCOME_MIN_SIMILARITY = 0.75
OUTCOME_WEIGHT = 0.2

WriteHook = Callable[[str, AgentCard | None, str], None]
"""Called as hook(action, card, name) before a write; raise to refuse it."""


def card_text(card: AgentCard) -> str:
    tags = f" Tags: {', '.join(card.tags)}." if card.tags else ""
    return f"{card.name}: {card.description}.{tags}"


def skill_text(card: AgentCard, skill: Skill) -> str:
    parts = [f"{skill.name.replace('_', ' ')}: {skill.description}"]
    if skill.examples:
        parts.append("Examples: " + "; ".join(skill.examples))
    if skill.tags:
        parts.append("Tags: " + ", ".join(skill.tags))
    parts.append(f"(agent {card.name})")
    return ". ".join(parts)


def parse_card(raw: Any) -> AgentCard:
    """A card from a dict or JSON text, with an InputError naming each bad field."""
    try:
        if isinstance(raw, str | bytes):
            return AgentCard.model_validate_json(raw)
        return AgentCard.model_validate(raw)
    except PydanticValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'card'}: {e['msg']}" for e in exc.errors()
        )
        raise InputError(f"invalid agent card: {problems}") from exc


class Registry:
    """Register, look up and search agent cards. Thread-safe; persisted in Chroma."""

    def __init__(self, client: Any, embedding_function: Any) -> None:
        self._client = client
        self._embed = embedding_function
        from mesh.vectorstore.client import get_collection

        self._agents = get_collection(client, AGENTS, embedding_function)
        self._outcomes = get_collection(client, OUTCOMES, embedding_function)
        self._lock = threading.RLock()
        self._cards: dict[str, AgentCard] = {}
        self.write_hook: WriteHook | None = None
        self._reload()

    def _reload(self) -> None:
        got = self._agents.get(where={"kind": "card"}, include=["metadatas"])
        self._cards = {
            m["agent"]: AgentCard.model_validate_json(str(m["card"]))
            for m in got["metadatas"] or []
        }

    def register(self, card: AgentCard | dict[str, Any] | str) -> AgentCard:
        """Add or replace a card; all-or-nothing."""
        return self.register_many([card])[0]

    def register_many(
        self, cards: Iterable[AgentCard | dict[str, Any] | str]
    ) -> builtins.list[AgentCard]:
        parsed = [c if isinstance(c, AgentCard) else parse_card(c) for c in cards]
        names = [c.name for c in parsed]
        if len(set(names)) != len(names):
            raise InputError(f"the batch names an agent twice: {names}; register each once")
        for card in parsed:
            if self.write_hook:
                self.write_hook("register", card, card.name)
        ids: list[str] = []
        docs: list[str] = []
        metas: list[dict[str, Any]] = []
        for card in parsed:
            for rid, doc, meta in self._records(card):
                ids.append(rid)
                docs.append(doc)
                metas.append(meta)
        try:
            vectors = self._embed(docs)
        except Exception as exc:
            raise RegistryError(
                f"could not embed the cards, nothing was registered: {exc}"
            ) from exc
        with self._lock:
            stale = self._stale_ids(parsed, set(ids))
            try:
                self._agents.upsert(ids=ids, embeddings=vectors, documents=docs, metadatas=metas)
            except Exception as exc:
                raise RegistryError(f"the store refused the cards: {exc}") from exc
            if stale:
                self._agents.delete(ids=stale)
            for card in parsed:
                self._cards[card.name] = card
        return parsed

    def _records(self, card: AgentCard) -> list[tuple[str, str, dict[str, Any]]]:
        base = {
            "agent": card.name,
            "owner": card.owner,
            "state": card.state.value,
            "tags": "," + ",".join(card.tags) + ",",
            "heartbeat": time.time(),
        }
        records = [
            (
                f"{card.name}::card",
                card_text(card),
                {**base, "kind": "card", "skill": "", "card": card.model_dump_json()},
            )
        ]
        for skill in card.skills:
            records.append(
                (
                    f"{card.name}::skill::{skill.name}",
                    skill_text(card, skill),
                    {**base, "kind": "skill", "skill": skill.name},
                )
            )
        return records

    def _stale_ids(self, cards: list[AgentCard], keep: set[str]) -> list[str]:
        stale: list[str] = []
        for card in cards:
            old = self._cards.get(card.name)
            if old is None:
                continue
            stale += [rid for rid, _, _ in self._records(old) if rid not in keep]
        return stale

    def deregister(self, name: str) -> None:
        card = self.get(name)
        if self.write_hook:
            self.write_hook("remove", card, name)
        with self._lock:
            self._agents.delete(where={"agent": name})
            self._cards.pop(name, None)

    def get(self, name: str) -> AgentCard:
        card = self._cards.get(name)
        if card is None:
            with self._lock:
                self._reload()
            card = self._cards.get(name)
        if card is None:
            known = ", ".join(sorted(self._cards)) or "none"
            raise AgentNotFound(f"no agent named {name!r} is registered (registered: {known})")
        return card

    def list(self) -> list[AgentCard]:
        return sorted(self._cards.values(), key=lambda c: c.name)

    def __contains__(self, name: object) -> bool:
        return name in self._cards

    def __len__(self) -> int:
        return len(self._cards)

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        state: str | AgentState | None = AgentState.AVAILABLE,
        tags: Iterable[str] = (),
        owner: str | None = None,
    ) -> builtins.list[Match]:
        """Agents ranked for `query`: best skill similarity plus what past runs taught.

        Filters are applied to an over-fetched candidate set in Python: Chroma's own
        `where` scans the filtered records and grows with the collection.
        """
        if not query or not query.strip():
            raise InputError("search query is empty: describe what the agent should do")
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}")
        total = self._agents.count()
        if total == 0:
            return []
        vector = self._embed([query])
        hits = self._agents.query(
            query_embeddings=vector,
            n_results=min(total, max(k * OVERFETCH, 20)),
            include=["metadatas", "distances"],
        )
        wanted_tags = set(tags)
        best: dict[str, tuple[float, str]] = {}
        for meta, dist in zip(hits["metadatas"][0], hits["distances"][0], strict=True):
            name = str(meta["agent"])
            card = self._cards.get(name)
            if card is None or not self._passes(card, state, wanted_tags, owner):
                continue
            score = max(0.0, 1.0 - float(dist))
            if name not in best or score > best[name][0]:
                best[name] = (score, str(meta.get("skill") or ""))
        boosts = self._outcome_boosts(vector, set(best))
        ranked = sorted(
            ((min(1.0, max(0.0, s + boosts.get(n, 0.0))), n, sk) for n, (s, sk) in best.items()),
            reverse=True,
        )
        matches: builtins.list[Match] = []
        for score, name, skill_name in ranked[:k]:
            card = self._cards[name]
            skill = next((s for s in card.skills if s.name == skill_name), None)
            matches.append(Match(card=card, skill=skill, score=round(score, 4)))
        return matches

    @staticmethod
    def _passes(
        card: AgentCard,
        state: str | AgentState | None,
        tags: set[str],
        owner: str | None,
    ) -> bool:
        if state is not None and card.state != AgentState(state):
            return False
        if owner is not None and card.owner != owner:
            return False
        card_tags = (
            set(card.tags).union(*(s.tags for s in card.skills)) if card.skills else set(card.tags)
        )
        return tags <= card_tags

    def record_outcome(self, query: str, agent: str, success: bool) -> None:
        """Remember how `agent` did on `query`; similar later queries are ranked by it."""
        if not query.strip():
            raise InputError("outcome query is empty")
        self._outcomes.add(
            ids=[uuid.uuid4().hex],
            documents=[query],
            metadatas=[{"agent": agent, "success": bool(success), "ts": time.time()}],
        )

    def _outcome_boosts(self, vector: Any, names: set[str]) -> dict[str, float]:
        if not names:
            return {}
        count = self._outcomes.count()
        if count == 0:
            return {}
        hits = self._outcomes.query(
            query_embeddings=vector,
            n_results=min(count, OUTCOME_NEIGHBOURS),
            include=["metadatas", "distances"],
        )
        boosts: dict[str, float] = {}
        for meta, dist in zip(hits["metadatas"][0], hits["distances"][0], strict=True):
            similarity = 1.0 - float(dist)
            name = str(meta["agent"])
            if similarity < OUTCOME_MIN_SIMILARITY or name not in names:
                continue
            sign = 1.0 if meta["success"] else -1.0
            boosts[name] = boosts.get(name, 0.0) + sign * OUTCOME_WEIGHT * similarity
        return {n: max(-OUTCOME_WEIGHT * 2, min(OUTCOME_WEIGHT * 2, b)) for n, b in boosts.items()}

    def dump(self) -> str:
        return json.dumps([c.model_dump(mode="json") for c in self.list()], indent=2)

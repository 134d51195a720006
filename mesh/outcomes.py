"""Outcomes of past runs, kept in Chroma, as evidence for later discovery.

Every task the orchestrator runs ends in `record_outcome(query, agent, success)`. One
record per (agent, query) counts its successes and failures, so the store grows with
distinct tasks, not with traffic. A later query near a past one inherits its verdict:
the agent that succeeded is raised, the one that failed is lowered, in proportion to how
similar the two queries are above a threshold. This teaches the registry the phrasing of
recurring asks and the near-misses between neighbouring agents; it does not generalise
to asks unlike any seen before (bench/RESULTS.md measures both).

Other processes sharing the store record outcomes too. Every record carries its query
text and the writer's clock (``ts``), so `OutcomeStore.catch_up` reads only the records
written since the last look (less `CLOCK_SKEW`), without vectors: embedded Chroma does
not show one process the vectors another wrote since it opened, and the same query
embedder gives the same vectors. A record holds totals, so taking the stored counts
never counts an outcome twice.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Collection, Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from mesh.errors import RegistryError
from mesh.registry_store import stored_vectors
from mesh.registry_sync import CLOCK_SKEW
from mesh.vector_table import dot, grow

log = logging.getLogger(__name__)

OUTCOME_NEIGHBOURS = 32
EXACT_SCAN_LIMIT = 50_000
PAGE = 5000


def outcome_id(agent: str, query: str) -> str:
    key = f"{agent}\x00{' '.join(query.lower().split())}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


class OutcomeStore:
    """The outcomes collection and an in-memory copy of its vectors and counts.

    `embed` (a list of query texts to their vectors: the registry's query embedder) is
    needed to take in records other processes wrote; `clock` stamps records and reads.
    """

    def __init__(
        self,
        collection: Any,
        embed: Callable[[list[str]], Any],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._collection = collection
        self._embed = embed
        self._clock = clock
        self._ids: dict[str, int] = {}
        self._agents: list[str] = []
        self._successes = np.zeros(0, dtype=np.int64)
        self._failures = np.zeros(0, dtype=np.int64)
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self._unreadable: set[str] = set()
        self.caught_up = clock()
        """This process's clock when the copy was last as current as the store."""
        self._load()

    def __len__(self) -> int:
        return len(self._ids)

    def _load(self) -> None:
        """Every record with its stored vector; where the store cannot give them (embedded
        Chroma already open in this process when another process wrote), re-embedded."""
        offset = 0
        try:
            while True:
                page = self._collection.get(
                    include=["embeddings", "metadatas"], limit=PAGE, offset=offset
                )
                ids = page["ids"]
                if not ids:
                    return
                for rid, vec, meta in zip(ids, page["embeddings"], page["metadatas"], strict=True):
                    if (got := self._read_counts(rid, meta)) is not None:
                        self._put(rid, got[0], np.asarray(vec, dtype=np.float32), *got[1:])
                offset += len(ids)
        except Exception as exc:
            log.info("embedding the outcomes written by another process (%s)", exc)
            self.catch_up(None, since=None)

    def _put(
        self, rid: str, agent: str, vector: npt.NDArray[np.float32], good: int, bad: int
    ) -> None:
        index = self._ids.get(rid)
        if index is None:
            index = len(self._agents)
            self._ids[rid] = index
            self._agents.append(agent)
            if not self._vectors.size:
                self._vectors = np.zeros((0, len(vector)), dtype=np.float32)
            self._vectors = grow(self._vectors, index + 1)
            self._successes = grow(self._successes, index + 1)
            self._failures = grow(self._failures, index + 1)
        self._vectors[index] = vector
        self._successes[index] = good
        self._failures[index] = bad

    def record(
        self, query: str, vector: npt.NDArray[np.float32], agent: str, success: bool
    ) -> None:
        """Count one outcome; written to Chroma before memory changes.

        The count starts from the stored totals, read just before, so an outcome another
        process recorded for the same agent and query since this one last caught up is
        kept (only two writes of one record within the same few milliseconds can still
        lose one: Chroma has no compare-and-set).
        """
        rid = outcome_id(agent, query)
        try:
            got = self._collection.get(ids=[rid], include=["metadatas"])
            stored = self._read_counts(rid, got["metadatas"][0]) if got["ids"] else None
            good, bad = stored[1:] if stored is not None else (0, 0)
            good, bad = (good + 1, bad) if success else (good, bad + 1)
            meta = {
                "agent": agent,
                "success": bool(success),
                "successes": good,
                "failures": bad,
                "ts": self._clock(),
            }
            self._collection.upsert(
                ids=[rid], embeddings=[vector], documents=[query], metadatas=[meta]
            )
        except Exception as exc:
            raise RegistryError(f"the store refused the outcome for {agent!r}: {exc}") from exc
        self._put(rid, agent, vector, good, bad)

    def forget(self, agents: str | Iterable[str], *, store: bool = True) -> None:
        """Drop every outcome of `agents` (deregistered): from the store too unless another
        process already did (`store=False`), including outcomes not yet read here."""
        names = {agents} if isinstance(agents, str) else set(agents)
        if not names:
            return
        if store:
            self._collection.delete(where={"agent": {"$in": sorted(names)}})
        gone = [rid for rid, i in self._ids.items() if self._agents[i] in names]
        self._drop(gone)

    def forgive(self, agents: Iterable[str]) -> None:
        """New versions of `agents` start without their past failures; their successes
        stay. Stamped now, so other processes take the change in at their next look. The
        card is stored by then: a store failure here is logged, and the failures count on."""
        names = sorted(set(agents))
        if not names:
            return
        ids: list[str] = []
        try:
            metas = []
            for rid, _, meta in self._read({"agent": {"$in": names}}):
                got = self._read_counts(rid, meta)
                if got is not None and got[2]:
                    ids.append(rid)
                    metas.append({**meta, "failures": 0, "ts": self._clock()})
            for start in range(0, len(ids), PAGE):
                self._collection.update(
                    ids=ids[start : start + PAGE], metadatas=metas[start : start + PAGE]
                )
        except Exception as exc:
            log.warning("past failures of %s still count: %s", ", ".join(names), exc)
            return
        for rid in ids:
            if rid in self._ids:
                self._failures[self._ids[rid]] = 0

    def _drop(self, rids: Iterable[str]) -> None:
        for rid in rids:
            index = self._ids.pop(rid)
            self._agents[index] = ""
            self._successes[index] = self._failures[index] = 0

    def poll(self, agents: Collection[str]) -> None:
        """`catch_up` with what was recorded since the last look; a store or embedder
        failure is logged and retried at the next look (nothing is skipped)."""
        try:
            self.catch_up(agents, since=self.caught_up - CLOCK_SKEW)
        except Exception as exc:
            log.warning("cannot read outcomes other processes recorded (retrying later): %s", exc)

    def catch_up(self, agents: Collection[str] | None, since: float | None) -> None:
        """Take in the records written at or after `since` by their writers' clocks (all if
        None): the stored totals for known ids, new ids with their stored vectors (embedded
        from their query text where the store cannot give them), and, reading all, ids gone
        from the store dropped. Records of agents not in `agents` if given (deregistered,
        maybe by a process that had not caught up) are left out."""
        started = self._clock()
        seen: set[str] = set()
        new: list[tuple[str, str, str, int, int]] = []
        for rid, text, meta in self._read(None if since is None else {"ts": {"$gte": since}}):
            if not isinstance(text, str) or not text:
                self._skip(rid, "it has no query text")
                continue
            got = self._read_counts(rid, meta)
            if got is None or (agents is not None and got[0] not in agents):
                continue
            seen.add(rid)
            index = self._ids.get(rid)
            if index is None:
                new.append((rid, text, *got))
            else:
                self._successes[index], self._failures[index] = got[1:]
        ids, texts = [n[0] for n in new], [n[1] for n in new]
        vectors = stored_vectors(self._collection, ids, texts, self._embed, "outcome queries")
        for (rid, _, agent, good, bad), vector in zip(new, vectors, strict=True):
            self._put(rid, agent, vector, good, bad)
        if since is None:
            self._drop([rid for rid in self._ids if rid not in seen])
        self.caught_up = started

    def _read_counts(self, rid: str, meta: Any) -> tuple[str, int, int] | None:
        """(agent, successes, failures) of a stored record, or None for one without them."""
        try:
            success = bool(meta.get("success"))
            good = int(meta.get("successes", 1 if success else 0))
            bad = int(meta.get("failures", 0 if success else 1))
            return str(meta["agent"]), good, bad
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            self._skip(rid, repr(exc))
            return None

    def _skip(self, rid: str, why: str) -> None:
        """Log an unreadable record once (a look every few seconds would repeat it)."""
        if rid not in self._unreadable:
            self._unreadable.add(rid)
            log.warning("skipping unreadable outcome record %s (%s)", rid, why)

    def _read(self, where: dict[str, Any] | None) -> Iterable[tuple[str, Any, Any]]:
        offset = 0
        while True:
            page = self._collection.get(
                where=where, include=["documents", "metadatas"], limit=PAGE, offset=offset
            )
            if not page["ids"]:
                return
            yield from zip(page["ids"], page["documents"], page["metadatas"], strict=True)
            offset += len(page["ids"])

    def evidence(
        self, vector: npt.NDArray[np.float32], threshold: float
    ) -> dict[str, tuple[float, float]]:
        """Per agent: (success, failure) evidence in [0, 1] from past queries like this one."""
        n = len(self._agents)
        if n == 0:
            return {}
        if n <= EXACT_SCAN_LIMIT:
            sims = dot(self._vectors[:n], vector)
            near = np.flatnonzero(sims > threshold)
            pairs: Iterable[tuple[int, float]] = zip(
                near.tolist(), sims[near].tolist(), strict=True
            )
        else:
            hits = self._collection.query(
                query_embeddings=[vector], n_results=OUTCOME_NEIGHBOURS, include=["distances"]
            )
            pairs = (
                (self._ids[rid], 1.0 - float(d))
                for rid, d in zip(hits["ids"][0], hits["distances"][0], strict=True)
                if rid in self._ids
            )
        evidence: dict[str, list[float]] = {}
        for index, sim in pairs:
            agent = self._agents[index]
            good, bad = int(self._successes[index]), int(self._failures[index])
            if not agent or sim <= threshold or good + bad == 0:
                continue
            strength = (sim - threshold) / (1.0 - threshold)
            net = (good - bad) / (good + bad)
            slot = evidence.setdefault(agent, [0.0, 0.0])
            if net > 0:
                slot[0] = max(slot[0], strength * net)
            elif net < 0:
                slot[1] = max(slot[1], -strength * net)
        return {a: (s, f) for a, (s, f) in evidence.items()}

    def agents_near(self, evidence: dict[str, tuple[float, float]]) -> list[str]:
        """Agents with success evidence: candidates even if nothing else found them."""
        return [a for a, (s, _) in evidence.items() if s > 0]

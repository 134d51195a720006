"""Outcomes of past runs, kept in Chroma, as evidence for later discovery.

Every task the orchestrator runs ends in `record_outcome(query, agent, success)`. One
record per (agent, query) counts its successes and failures, so the store grows with
distinct tasks, not with traffic. A later query near a past one inherits its verdict:
the agent that succeeded is raised, the one that failed is lowered, in proportion to how
similar the two queries are above a threshold. This teaches the registry the phrasing of
recurring asks and the near-misses between neighbouring agents; it does not generalise
to asks unlike any seen before (bench/RESULTS.md measures both).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from mesh.vector_table import dot, grow

OUTCOME_NEIGHBOURS = 32
EXACT_SCAN_LIMIT = 50_000
PAGE = 5000


def outcome_id(agent: str, query: str) -> str:
    key = f"{agent}\x00{' '.join(query.lower().split())}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


class OutcomeStore:
    """The outcomes collection and an in-memory copy of its vectors and counts."""

    def __init__(self, collection: Any) -> None:
        self._collection = collection
        self._ids: dict[str, int] = {}
        self._agents: list[str] = []
        self._successes = np.zeros(0, dtype=np.int64)
        self._failures = np.zeros(0, dtype=np.int64)
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self._load()

    def __len__(self) -> int:
        return len(self._ids)

    def _load(self) -> None:
        offset = 0
        while True:
            page = self._collection.get(
                include=["embeddings", "metadatas"], limit=PAGE, offset=offset
            )
            ids = page["ids"]
            if not ids:
                break
            for rid, vector, meta in zip(ids, page["embeddings"], page["metadatas"], strict=True):
                success = bool(meta.get("success"))
                good = int(meta.get("successes", 1 if success else 0))
                bad = int(meta.get("failures", 0 if success else 1))
                self._put(rid, str(meta["agent"]), np.asarray(vector, dtype=np.float32), good, bad)
            offset += len(ids)

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
        """Count one outcome; written to Chroma before memory changes."""
        rid = outcome_id(agent, query)
        index = self._ids.get(rid)
        good = int(self._successes[index]) if index is not None else 0
        bad = int(self._failures[index]) if index is not None else 0
        good, bad = (good + 1, bad) if success else (good, bad + 1)
        meta = {
            "agent": agent,
            "success": bool(success),
            "successes": good,
            "failures": bad,
            "ts": time.time(),
        }
        self._collection.upsert(ids=[rid], embeddings=[vector], documents=[query], metadatas=[meta])
        self._put(rid, agent, vector, good, bad)

    def forget(self, agent: str) -> None:
        """Drop every outcome of `agent` (it was deregistered)."""
        gone = [rid for rid, i in self._ids.items() if self._agents[i] == agent]
        for start in range(0, len(gone), PAGE):
            self._collection.delete(ids=gone[start : start + PAGE])
        for rid in gone:
            index = self._ids.pop(rid)
            self._agents[index] = ""
            self._successes[index] = self._failures[index] = 0

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

"""The registry's Chroma side: card records in and out, all-or-nothing, and embedding of
cards and queries (what callers give it is checked in `mesh.registry_input`).

Chroma has no transactions. A write here is a sequence of batched upserts and deletes;
if any fails, what was written is deleted and what it replaced is put back from the
caller's copy, so the store ends as it began. Only if that repair fails too does the
error say the store may hold part of the write (registering again is idempotent).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib
import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import ValidationError as PydanticValidationError

from mesh.errors import ConfigError, MeshError, RegistryError
from mesh.models import AgentCard
from mesh.registry_index import CARD, Record, RegistryIndex, records

log = logging.getLogger(__name__)

SCHEMA = 2  # bump when record texts change: stored cards are re-embedded on load
PAGE = 5000
KINDS = {0: "card", 1: "skill", 2: "example"}


@dataclass
class Stored:
    """What the store holds: each id's row in `vectors` (-1: written by an older layout),
    and the metadata of card records."""

    position: dict[str, int]
    vectors: npt.NDArray[np.float32]
    cards: dict[str, dict[str, Any]]


Put = tuple[AgentCard, list[Record], Sequence[Any] | npt.NDArray[np.float32], float]
"""A card, its records, one vector per record, and its last heartbeat."""


class QueryVectors:
    """Query embeddings, with the recent ones kept: the orchestrator asks the same need
    again on retries, reassignments and outcome records, and embedding is most of a
    search's cost."""

    def __init__(self, embed: Callable[[list[str]], Any], keep: int = 512) -> None:
        self._embed, self._keep = embed, keep
        self._cache: OrderedDict[str, npt.NDArray[np.float32]] = OrderedDict()
        self._lock = threading.Lock()

    def vector(self, text: str) -> npt.NDArray[np.float32]:
        with self._lock:
            cached = self._cache.get(text)
            if cached is not None:
                self._cache.move_to_end(text)
                return cached
        try:
            vector = np.asarray(self._embed([text])[0], dtype=np.float32)
        except MeshError:
            raise
        except Exception as exc:
            raise RegistryError(f"could not embed the query ({type(exc).__name__}: {exc})") from exc
        self.put(text, vector)
        return vector

    def put(self, text: str, vector: npt.NDArray[np.float32]) -> None:
        """Remember `vector` as the embedding of `text` (benchmarks time ranking alone)."""
        with self._lock:
            self._cache[text] = vector
            if len(self._cache) > self._keep:
                self._cache.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()


def embed_documents(
    embed: Callable[[list[str]], Any],
    texts: list[str],
    what: str = "the cards",
    then: str = "; nothing was registered",
) -> list[npt.NDArray[np.float32]]:
    """One vector per text, or a RegistryError naming `what` failed to embed and `then`
    what that left undone."""
    try:
        vectors = list(embed(texts))
    except MeshError:
        raise
    except Exception as exc:
        raise RegistryError(f"could not embed {what} ({type(exc).__name__}: {exc}){then}") from exc
    if len(vectors) != len(texts):
        raise RegistryError(
            f"the embedding function returned {len(vectors)} vectors for {len(texts)} texts{then}"
        )
    return [np.asarray(v, dtype=np.float32) for v in vectors]


def stored_vectors(
    collection: Any, ids: list[str], texts: list[str], embed: Callable[[list[str]], Any], what: str
) -> list[npt.NDArray[np.float32]]:
    """The vectors stored with `ids`, or `texts` embedded here where the store cannot give
    them (embedded Chroma does not show one process the vectors another wrote)."""
    if not ids:
        return []
    try:
        got = collection.get(ids=ids, include=["embeddings"])
        by_id = dict(zip(got["ids"], got["embeddings"], strict=True))
        return [np.asarray(by_id[i], dtype=np.float32) for i in ids]
    except Exception as exc:
        log.info("embedding %d %s written by another process (%s)", len(ids), what, exc)
        return embed_documents(embed, texts, what, then="")


def embedding_from_settings(spec: str | None) -> Any:
    """The embedding function a setting names: MiniLM offline by default, or any LangChain
    ``Embeddings`` given as ``module:attribute`` (a class or a factory called without
    arguments), e.g. ``MESH_EMBEDDINGS=langchain_openai:OpenAIEmbeddings``.
    """
    from mesh.vectorstore.embeddings import MiniLMEmbedding, langchain_embedding_function

    if not spec or spec.strip().lower() in ("minilm", "default"):
        return MiniLMEmbedding()
    module_name, _, attr = spec.strip().partition(":")
    if not module_name or not attr:
        raise ConfigError(
            f"MESH_EMBEDDINGS={spec!r} is not 'module:attribute': use e.g."
            " 'langchain_openai:OpenAIEmbeddings', or unset it for the offline MiniLM"
        )
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"MESH_EMBEDDINGS={spec!r}: cannot import {attr!r} from {module_name!r} ({exc});"
            " install the package or fix the name"
        ) from exc
    try:
        embeddings = factory()
    except Exception as exc:
        raise ConfigError(
            f"MESH_EMBEDDINGS={spec!r}: calling {attr}() failed ({exc}); it must build a"
            " LangChain Embeddings without arguments (configure it by its own env vars)"
        ) from exc
    try:
        return langchain_embedding_function(embeddings)
    except MeshError as exc:
        raise ConfigError(f"MESH_EMBEDDINGS={spec!r}: {exc}") from exc


def release_memory() -> None:
    """Hand the heap freed after a bulk load back to the OS (glibc keeps it otherwise)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to hand back
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def metadata(card: AgentCard, rec: Record, beat: float) -> dict[str, Any]:
    """What a record carries: its agent and kind; the card record also the card itself."""
    meta: dict[str, Any] = {
        "agent": card.name,
        "kind": KINDS[rec.kind],
        "skill": card.skills[rec.skill].name if rec.skill >= 0 else "",
        "schema": SCHEMA,
    }
    if rec.kind == CARD:
        meta |= {
            "card": card.model_dump_json(),
            "heartbeat": beat,
            "state": card.state.value,
            "owner": card.owner,
            "version": card.version,
        }
    return meta


def read_index(
    store: CardStore, clock: Callable[[], float]
) -> tuple[RegistryIndex, list[AgentCard], list[str]]:
    """The in-memory index of what `store` holds, the cards whose records are incomplete
    (stored by an older version: to re-index), and the ids of records no card owns."""
    stored = store.read_all()
    cards: list[tuple[AgentCard, list[Record], float]] = []
    repair: list[AgentCard] = []
    for rid, meta in stored.cards.items():
        try:
            card = AgentCard.model_validate_json(str(meta["card"]))
        except (KeyError, PydanticValidationError) as exc:
            log.warning("skipping unreadable card record %s (%s): re-register it", rid, exc)
            continue
        recs = records(card)
        if all(stored.position.get(r.id, -1) >= 0 for r in recs):
            cards.append((card, recs, float(meta.get("heartbeat") or clock())))
        else:
            repair.append(card)
    index = RegistryIndex()
    if cards:
        index.reserve(sum(len(recs) for _, recs, _ in cards), stored.vectors.shape[1])
    known = {r.id for card in repair for r in records(card)}
    for card, recs, beat in cards:
        index.add(card, recs, stored.vectors[[stored.position[r.id] for r in recs]], beat)
        known.update(r.id for r in recs)
    del stored.vectors
    if len(stored.position) > PAGE:
        release_memory()
    return index, repair, [rid for rid in stored.position if rid not in known]


GENERATION = "mesh_generation"


class CardStore:
    """The agents collection, written in batches the server accepts, rolled back on failure.

    The collection's metadata holds a token that every write replaces (`mark`), so a
    registry in another process can tell, for the price of one small read
    (`generation`), that its copy is stale. `reopen` fetches the collection anew, since
    a collection object keeps the metadata it was opened with.
    """

    def __init__(
        self, collection: Any, batch: int, reopen: Callable[[], Any] | None = None
    ) -> None:
        self.collection = collection
        self.batch = max(1, batch)
        self._reopen = reopen

    def generation(self) -> str | None:
        """The token of the last write by any process; None if it cannot be read."""
        if self._reopen is None:
            return None
        try:
            meta = self._reopen().metadata or {}
        except Exception as exc:
            log.warning("cannot read the registry's generation: %s", exc)
            return None
        token = meta.get(GENERATION)
        return str(token) if token is not None else None

    def mark(self) -> str | None:
        """Tell other processes the store changed; returns the new token (None if refused)."""
        token = uuid.uuid4().hex
        try:
            self.collection.modify(metadata={GENERATION: token})
        except Exception as exc:
            log.warning(
                "cannot mark the registry changed (other processes will not see it): %s", exc
            )
            return None
        return token

    def read_all(self) -> Stored:
        """Every record, read in pages into one matrix (a dict of 150k arrays costs 3x more)."""
        total = self.collection.count()
        stored = Stored(position={}, vectors=np.zeros((0, 0), dtype=np.float32), cards={})
        offset = 0
        while offset < total:
            page = self.collection.get(
                include=["embeddings", "metadatas"], limit=PAGE, offset=offset
            )
            if not page["ids"]:
                break
            block = np.asarray(page["embeddings"], dtype=np.float32)
            if not stored.vectors.size:
                stored.vectors = np.zeros((total, block.shape[1]), dtype=np.float32)
            stored.vectors[offset : offset + len(block)] = block
            for i, (rid, meta) in enumerate(zip(page["ids"], page["metadatas"], strict=True)):
                meta = meta or {}
                if meta.get("schema") == SCHEMA:
                    stored.position[rid] = offset + i
                else:
                    stored.position[rid] = -1
                if meta.get("kind") == "card":
                    stored.cards[rid] = meta
            offset += len(page["ids"])
        return stored

    def put(self, new: list[Put], old: list[Put]) -> None:
        """Write `new` and drop the records of `old` it no longer has; all or nothing."""
        keep = {r.id for _, recs, _, _ in new for r in recs}
        stale = [r.id for _, recs, _, _ in old for r in recs if r.id not in keep]
        try:
            self._upsert(new)
            self._delete(stale)
        except Exception as exc:
            self._restore(old, keep)
            raise RegistryError(
                f"the store refused the write of {len(new)} card(s) ({exc}); it was rolled"
                " back, nothing was registered"
            ) from exc

    def remove(self, old: Put) -> None:
        ids = [r.id for r in old[1]]
        try:
            self._delete(ids)
        except Exception as exc:
            self._restore([old], set(ids))
            raise RegistryError(
                f"the store refused to remove {old[0].name!r} ({exc}); nothing was removed"
            ) from exc

    def set_card(self, card: AgentCard, card_record: Record, beat: float) -> None:
        """Replace the card record's metadata (state, heartbeat); its vector is unchanged."""
        try:
            self.collection.update(
                ids=[card_record.id], metadatas=[metadata(card, card_record, beat)]
            )
        except Exception as exc:
            raise RegistryError(f"the store refused the update of {card.name!r}: {exc}") from exc

    def delete(self, ids: list[str]) -> None:
        self._delete(ids)

    def _upsert(self, puts: list[Put]) -> None:
        ids: list[str] = []
        docs: list[str] = []
        metas: list[dict[str, Any]] = []
        vectors: list[Any] = []
        for card, recs, vecs, beat in puts:
            ids += [r.id for r in recs]
            docs += [r.text for r in recs]
            metas += [metadata(card, r, beat) for r in recs]
            vectors += list(vecs)
        for start in range(0, len(ids), self.batch):
            end = start + self.batch
            self.collection.upsert(
                ids=ids[start:end],
                embeddings=vectors[start:end],
                documents=docs[start:end],
                metadatas=metas[start:end],
            )

    def _delete(self, ids: list[str]) -> None:
        for start in range(0, len(ids), self.batch):
            self.collection.delete(ids=ids[start : start + self.batch])

    def _restore(self, old: list[Put], written: set[str]) -> None:
        """Back to before: drop what was written, put back what was there."""
        try:
            before = {r.id for _, recs, _, _ in old for r in recs}
            self._delete(sorted(written - before))
            self._upsert(old)
        except Exception as exc:
            log.error("rollback failed; call Registry.refresh() or restart: %s", exc)
            raise RegistryError(
                f"a failed write could not be rolled back ({exc}): the store may hold part of"
                " it; register the same cards again (registering is idempotent)"
            ) from exc

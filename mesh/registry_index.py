"""The registry's in-memory index: cards, their vectors and their filters, as arrays.

Chroma is the store of record; this index is rebuilt from it on start and kept in step
with every write. It exists because Chroma's own `where` filter scans the filtered set
(~56 ms at 100k records here): filters are evaluated here as numpy masks over agents
and skills, and dense candidates come either from an exact scan of the rows that pass
(when few do) or from Chroma's unfiltered HNSW search, over-fetched in proportion to
how many rows pass.

Three id spaces: an *agent* slot per card, a *unit* per skill (or one for a card
without skills), and a *row* per stored vector (the card, each skill, each example).
Slots are never reused; removed ones are masked out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from mesh.lexical import LexicalIndex, tokenize
from mesh.models import AgentCard, AgentState, Skill
from mesh.vector_table import VectorTable, dot, grow

CARD, SKILL, EXAMPLE = 0, 1, 2
STATE_CODES = {s: i for i, s in enumerate(AgentState)}
OFFLINE = STATE_CODES[AgentState.OFFLINE]
EXACT_ROWS = 4096  # passing rows scanned in memory without asking Chroma
ANN_MIN_SHARE = 0.3  # Chroma's HNSW serves when at least this share of rows passes
MAX_ANN_RESULTS = 300
Vector = npt.NDArray[np.float32]
Ann = Callable[[Vector, int], Sequence[str]]


@dataclass
class Record:
    """One stored vector: its Chroma id, text, and where it belongs."""

    id: str
    text: str
    kind: int
    skill: int  # index into card.skills; -1 for the card record


@dataclass
class AgentEntry:
    """One registered agent. The card is kept as its JSON (a tenth of the memory of the
    model object) and parsed when asked for: a few times per search, not per candidate."""

    slot: int
    name: str
    card_json: str
    state: AgentState
    ttl: float | None
    last_beat: float
    skills: tuple[str, ...]
    rows: list[int] = field(default_factory=list)
    units: list[int] = field(default_factory=list)

    @property
    def card(self) -> AgentCard:
        card = AgentCard.model_validate_json(self.card_json)
        return card if card.state == self.state else card.model_copy(update={"state": self.state})

    @card.setter
    def card(self, card: AgentCard) -> None:
        self.card_json = card.model_dump_json()
        self.state = card.state
        self.ttl = card.heartbeat_ttl


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


def unit_text(card: AgentCard, skill: Skill | None) -> str:
    """What lexical matching reads for a skill: the skill in full plus its card."""
    head = f"{card.name} {card.description} {' '.join(card.tags)}"
    if skill is None:
        return head
    return (
        f"{skill.name} {skill.description} {' '.join(skill.tags)} {' '.join(skill.examples)} {head}"
    )


CARD_SUFFIX = "::card"  # the id of an agent's card record is its name and this


def records(card: AgentCard) -> list[Record]:
    """The vectors a card is indexed by: whole, per skill, and per example."""
    out = [Record(f"{card.name}{CARD_SUFFIX}", card_text(card), CARD, -1)]
    for i, skill in enumerate(card.skills):
        out.append(Record(f"{card.name}::skill::{skill.name}", skill_text(card, skill), SKILL, i))
        for j, example in enumerate(skill.examples):
            out.append(Record(f"{card.name}::example::{skill.name}::{j}", example, EXAMPLE, i))
    return out


def normalise(label: str) -> str:
    return label.strip().lower().replace("_", "-")


class RegistryIndex:
    """Cards, vectors, lexical postings and filter masks, addressable by numpy."""

    def __init__(self) -> None:
        self.agents: dict[str, AgentEntry] = {}
        self.lexical = LexicalIndex()
        self.dim = 0
        self._n_agents = self._n_units = self._n_rows = 0
        self.agent_names: list[str] = []
        self._agent_state = np.zeros(0, dtype=np.int8)
        self._agent_deadline = np.zeros(0, dtype=np.float64)
        self._agent_owner = np.zeros(0, dtype=np.int32)
        self._agent_alive = np.zeros(0, dtype=bool)
        self._owners: dict[str, int] = {}
        self._tags: dict[str, set[int]] = {}
        self._capabilities: dict[str, set[int]] = {}
        self._input_modes: dict[str, set[int]] = {}
        self._output_modes: dict[str, set[int]] = {}
        self.unit_agent = np.zeros(0, dtype=np.int32)
        self.unit_skill = np.zeros(0, dtype=np.int32)
        self._unit_alive = np.zeros(0, dtype=bool)
        self.unit_names: list[tuple[str, ...]] = []
        self.unit_rows: list[list[int]] = []
        self.table = VectorTable()
        self.row_agent = np.zeros(0, dtype=np.int32)
        self.row_unit = np.zeros(0, dtype=np.int32)
        self.row_kind = np.zeros(0, dtype=np.int8)
        self._row_alive = np.zeros(0, dtype=bool)
        self._live_rows = 0

    # -- writes ---------------------------------------------------------------------------

    def reserve(self, rows: int, dims: int) -> None:
        """Room for `rows` more vectors (a bulk load allocates once)."""
        self.table.reserve(rows, dims)

    def add(
        self, card: AgentCard, recs: list[Record], vectors: Sequence[Any] | Vector, beat: float
    ) -> None:
        """Index `card` with one vector per record (replacing any card of that name)."""
        if card.name in self.agents:
            self.remove(card.name)
        matrix = np.asarray(vectors, dtype=np.float32)
        if not self.dim:
            self.dim = matrix.shape[1]
        if matrix.shape != (len(recs), self.dim):
            raise ValueError(f"expected {len(recs)} vectors of {self.dim} dims, got {matrix.shape}")
        slot = self._n_agents
        self._n_agents += 1
        entry = AgentEntry(
            slot=slot,
            name=card.name,
            card_json=card.model_dump_json(),
            state=card.state,
            ttl=card.heartbeat_ttl,
            last_beat=beat,
            skills=tuple(s.name for s in card.skills),
        )
        self._grow_agents(slot + 1)
        self.agent_names.append(card.name)
        self._agent_owner[slot] = self._owners.setdefault(card.owner, len(self._owners))
        self._agent_alive[slot] = True
        self.set_state(entry, card.state, beat)
        for tag in {*card.tags, *(t for s in card.skills for t in s.tags)}:
            self._tags.setdefault(normalise(tag), set()).add(slot)
        units = [self._add_unit(card, entry, i, s) for i, s in enumerate(card.skills or [None])]
        rows = self.table.extend(matrix)
        self._n_rows = self.table.n
        for name in ("row_agent", "row_unit", "row_kind", "_row_alive"):
            setattr(self, name, grow(getattr(self, name), self._n_rows))
        for row, rec in zip(rows, recs, strict=True):
            unit = -1 if rec.kind == CARD else units[rec.skill]
            self.row_agent[row] = slot
            self.row_unit[row] = unit
            self.row_kind[row] = rec.kind
            self._row_alive[row] = True
            entry.rows.append(row)
            if unit >= 0:
                self.unit_rows[unit].append(row)
        if not card.skills:
            self.unit_rows[units[0]].append(entry.rows[0])
        self._live_rows += len(recs)
        self.agents[card.name] = entry

    def _add_unit(self, card: AgentCard, entry: AgentEntry, index: int, skill: Skill | None) -> int:
        unit = self._n_units
        self._n_units += 1
        self.unit_agent = grow(self.unit_agent, unit + 1)
        self.unit_skill = grow(self.unit_skill, unit + 1)
        self._unit_alive = grow(self._unit_alive, unit + 1)
        self.unit_agent[unit] = entry.slot
        self.unit_skill[unit] = index if skill else -1
        self._unit_alive[unit] = True
        names = [card.name, *card.tags]
        if skill is not None:
            names += [skill.name, *skill.tags]
            for label in (skill.name, *skill.tags):
                self._capabilities.setdefault(normalise(label), set()).add(unit)
            for mode in skill.input_modes:
                self._input_modes.setdefault(mode.lower(), set()).add(unit)
            for mode in skill.output_modes:
                self._output_modes.setdefault(mode.lower(), set()).add(unit)
        self.unit_names.append(tuple(sorted({t for n in names for t in tokenize(n)})))
        self.unit_rows.append([])
        self.lexical.add(unit, unit_text(card, skill))
        entry.units.append(unit)
        return unit

    def _grow_agents(self, need: int) -> None:
        self._agent_state = grow(self._agent_state, need)
        self._agent_deadline = grow(self._agent_deadline, need)
        self._agent_owner = grow(self._agent_owner, need)
        self._agent_alive = grow(self._agent_alive, need)

    def remove(self, name: str) -> None:
        entry = self.agents.pop(name, None)
        if entry is None:
            return
        self._agent_alive[entry.slot] = False
        for unit in entry.units:
            self._unit_alive[unit] = False
            self.lexical.remove(unit)
        for row in entry.rows:
            self._row_alive[row] = False
        self._live_rows -= len(entry.rows)

    def row_of(self, record_id: str) -> int:
        """The row of a stored record id, or -1 if it is not (or no longer) indexed."""
        name, _, rest = record_id.partition("::")
        entry = self.agents.get(name)
        if entry is None:
            return -1
        kind, _, tail = rest.partition("::")
        if kind == "card":
            return entry.rows[0]
        skill, _, example = tail.partition("::")
        if skill not in entry.skills:
            return -1
        rows = self.unit_rows[entry.units[entry.skills.index(skill)]]
        at = 0 if kind == "skill" else 1 + int(example or -1)
        return rows[at] if 0 <= at < len(rows) else -1

    def set_state(self, entry: AgentEntry, state: AgentState, beat: float) -> None:
        """Record the card's declared state and when its heartbeat runs out."""
        ttl = entry.ttl
        entry.state = state
        entry.last_beat = beat
        self._agent_state[entry.slot] = STATE_CODES[state]
        self._agent_deadline[entry.slot] = beat + ttl if ttl else math.inf

    def vectors(self, rows: Sequence[int] | npt.NDArray[np.int64]) -> Vector:
        return self.table.get(np.asarray(rows, dtype=np.int64))

    def similarities(self, rows: Sequence[int], query: Vector) -> Vector:
        return dot(self.vectors(rows), query)

    def effective_state(self, entry: AgentEntry, now: float) -> AgentState:
        if self._agent_deadline[entry.slot] < now:
            return AgentState.OFFLINE
        return entry.state

    @property
    def size(self) -> tuple[int, int, int]:
        """(agents, units, rows) alive."""
        return len(self.agents), int(self._unit_alive[: self._n_units].sum()), self._live_rows

    # -- filters --------------------------------------------------------------------------

    def agent_mask(
        self,
        *,
        state: AgentState | None,
        owner: str | None,
        tags: Iterable[str],
        now: float,
    ) -> npt.NDArray[np.bool_]:
        n = self._n_agents
        ok = self._agent_alive[:n].copy()
        if state is not None:
            expired = self._agent_deadline[:n] < now
            effective = np.where(expired, OFFLINE, self._agent_state[:n])
            ok &= effective == STATE_CODES[state]
        if owner is not None:
            code = self._owners.get(owner)
            if code is None:
                return np.zeros(n, dtype=bool)
            ok &= self._agent_owner[:n] == code
        for tag in tags:
            members = self._tags.get(normalise(tag), set())
            keep = np.zeros(n, dtype=bool)
            keep[list(members)] = True
            ok &= keep
        return ok

    def unit_mask(
        self,
        agents_ok: npt.NDArray[np.bool_],
        *,
        capability: str | None = None,
        input_mode: str | None = None,
        output_mode: str | None = None,
    ) -> npt.NDArray[np.bool_]:
        n = self._n_units
        ok = self._unit_alive[:n] & agents_ok[self.unit_agent[:n]]
        wanted = [
            (self._capabilities, normalise(capability) if capability else None),
            (self._input_modes, input_mode.lower() if input_mode else None),
            (self._output_modes, output_mode.lower() if output_mode else None),
        ]
        for table, key in wanted:
            if key is None:
                continue
            members = set(table.get(key, set()))
            if table is not self._capabilities and "/" in key:
                members |= table.get(key.split("/")[0] + "/*", set())
            keep = np.zeros(n, dtype=bool)
            keep[list(members)] = True
            ok &= keep
        return ok

    def row_mask(
        self, agents_ok: npt.NDArray[np.bool_], units_ok: npt.NDArray[np.bool_]
    ) -> npt.NDArray[np.bool_]:
        """Rows whose unit passes; a card row passes when any unit of its agent does."""
        n = self._n_rows
        agent_has_unit = np.zeros(self._n_agents, dtype=bool)
        agent_has_unit[self.unit_agent[: self._n_units][units_ok]] = True
        agents = agents_ok & agent_has_unit
        unit = self.row_unit[:n]
        card_row = unit < 0
        unit_ok = np.zeros(n, dtype=bool)
        unit_ok[~card_row] = units_ok[unit[~card_row]]
        return self._row_alive[:n] & agents[self.row_agent[:n]] & (card_row | unit_ok)

    # -- dense candidates -----------------------------------------------------------------

    def dense_rows(
        self,
        query: Vector,
        rows_ok: npt.NDArray[np.bool_],
        need: int,
        ann: Ann | None,
        exact_rows: int = EXACT_ROWS,
    ) -> npt.NDArray[np.int64]:
        """Up to `need` passing rows nearest to `query`, best first.

        When most rows pass, Chroma's HNSW over everything, over-fetched by the inverse
        of the share that passes (and the in-memory scan if too few of those pass);
        otherwise the in-memory scan of the passing rows (:class:`VectorTable`).
        """
        passing = np.flatnonzero(rows_ok)
        if len(passing) == 0:
            return passing
        share = len(passing) / max(self._live_rows, 1)
        fetch = min(math.ceil(need / share * 1.5), self._live_rows)
        if ann is not None and len(passing) > exact_rows and share >= ANN_MIN_SHARE:
            found = [self.row_of(i) for i in ann(query, min(fetch, MAX_ANN_RESULTS))]
            rows = np.array([r for r in found if r >= 0 and rows_ok[r]], dtype=np.int64)
            if len(rows) >= min(need, len(passing)):
                return rows[:need]
        return self.table.nearest(query, passing, need)

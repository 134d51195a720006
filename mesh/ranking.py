"""How discovery ranks agents: several kinds of evidence per skill, combined, per agent.

Dense similarity alone (MiniLM over a description) confuses neighbouring capabilities
and misses jargon. Each candidate skill is scored on

- ``skill``: cosine of the query with the skill's full text (name, description,
  examples, tags);
- ``example``: the best cosine with any one of its examples (users phrase tasks the way
  examples do);
- ``card``: cosine with the card's name, description and tags (the agent's purpose);
- ``lexical``: the share of the query's informative words (idf-weighted) the skill or
  its card mentions;
- ``names``: the share of query words that are the agent's or skill's name or tags;

combined as a weighted mean (so the score stays in [0, 1]); an agent scores as its best
skill. What past runs taught is then added: similar queries that succeeded on the agent
raise it, similar queries that failed on it lower it (see :mod:`mesh.outcomes`).
Candidates come from the dense index, the lexical postings and the outcome neighbours,
so an agent reachable by only one kind of evidence is still considered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from mesh.models import AgentState
from mesh.registry_index import EXAMPLE, AgentEntry, Ann, RegistryIndex
from mesh.registry_input import parse_state

if TYPE_CHECKING:
    from mesh.outcomes import OutcomeStore

STATIC_FEATURES = ("skill", "example", "card", "lexical", "names")


class RankingWeights(BaseModel):
    """Weights of the evidence; defaults tuned on tests/data/queries_dev.jsonl only."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    skill: float = Field(default=1.0, ge=0)
    example: float = Field(default=0.5, ge=0)
    card: float = Field(default=1.5, ge=0)
    lexical: float = Field(default=1.0, ge=0)
    names: float = Field(default=0.5, ge=0)
    success: float = Field(default=0.5, ge=0, description="past successes on similar queries")
    failure: float = Field(default=0.5, ge=0, description="past failures on similar queries")
    outcome_threshold: float = Field(
        default=0.5, ge=0, lt=1, description="similarity at which a past query starts to count"
    )

    def static_total(self) -> float:
        return sum(getattr(self, f) for f in STATIC_FEATURES) or 1.0


@dataclass
class Scored:
    """An agent's score for one query, its best skill, and the evidence behind it."""

    name: str
    unit: int
    skill: int  # index into the card's skills; -1 for a card without skills
    score: float
    features: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Filters:
    """What a search keeps: see `Registry.search` for each filter's meaning."""

    state: AgentState | None = AgentState.AVAILABLE
    tags: tuple[str, ...] = ()
    owner: str | None = None
    capability: str | None = None
    input_mode: str | None = None
    output_mode: str | None = None

    @classmethod
    def of(
        cls,
        state: AgentState | str | None,
        tags: Iterable[str] | str,
        owner: str | None,
        capability: str | None,
        input_mode: str | None,
        output_mode: str | None,
    ) -> Filters:
        return cls(
            state=None if state is None else parse_state(state),
            tags=(tags,) if isinstance(tags, str) else tuple(tags),
            owner=owner,
            capability=capability,
            input_mode=input_mode,
            output_mode=output_mode,
        )


@dataclass
class Query:
    vector: npt.NDArray[np.float32]
    terms: dict[str, float]
    k: int


def candidate_units(
    index: RegistryIndex,
    query: Query,
    units_ok: npt.NDArray[np.bool_],
    rows_ok: npt.NDArray[np.bool_],
    learned: Sequence[str],
    ann: Ann | None,
    exact_rows: int,
) -> tuple[list[int], npt.NDArray[np.float32]]:
    """Units worth scoring, and the lexical coverage of every unit."""
    need_rows = max(10 * query.k, 60)
    rows = index.dense_rows(query.vector, rows_ok, need_rows, ann, exact_rows)
    units: dict[int, None] = {}
    for row in rows.tolist():
        unit = int(index.row_unit[row])
        if unit >= 0:
            units[unit] = None
        else:
            entry = index.agents.get(_name_of(index, int(index.row_agent[row])))
            for u in entry.units if entry else ():
                units[u] = None
    coverage = index.lexical.coverage(query.terms, len(units_ok))
    lexical = np.where(units_ok, coverage, 0.0)
    top = max(5 * query.k, 30)
    best = np.argpartition(-lexical, top)[:top] if len(lexical) > top else np.arange(len(lexical))
    for unit in best[lexical[best] > 0].tolist():
        units[int(unit)] = None
    for name in learned:
        entry = index.agents.get(name)
        for u in entry.units if entry else ():
            units[u] = None
    return [u for u in units if units_ok[u]], coverage


def _name_of(index: RegistryIndex, slot: int) -> str:
    return index.agent_names[slot]


def score_units(
    index: RegistryIndex,
    query: Query,
    units: list[int],
    coverage: npt.NDArray[np.float32],
    weights: RankingWeights,
) -> list[Scored]:
    """The static evidence of each unit, combined (no outcomes yet)."""
    if not units:
        return []
    entries: dict[int, AgentEntry] = {}
    for unit in units:
        slot = int(index.unit_agent[unit])
        if slot not in entries:
            entries[slot] = index.agents[_name_of(index, slot)]
    rows = [row for e in entries.values() for row in e.rows]
    sims = dict(zip(rows, index.similarities(rows, query.vector).tolist(), strict=True))
    query_words = set(query.terms)
    total = weights.static_total()
    scored: list[Scored] = []
    for unit in units:
        entry = entries[int(index.unit_agent[unit])]
        unit_rows = index.unit_rows[unit]
        card_sim = sims[entry.rows[0]]
        own = [r for r in unit_rows if index.row_kind[r] != EXAMPLE]
        examples = [sims[r] for r in unit_rows if index.row_kind[r] == EXAMPLE]
        skill_sim = max((sims[r] for r in own), default=card_sim)
        names = index.unit_names[unit]
        features = {
            "skill": skill_sim,
            "example": max(examples, default=skill_sim),
            "card": card_sim,
            "lexical": float(coverage[unit]) if unit < len(coverage) else 0.0,
            "names": len(query_words.intersection(names)) / len(query_words)
            if query_words
            else 0.0,
        }
        value = sum(getattr(weights, f) * features[f] for f in STATIC_FEATURES) / total
        scored.append(
            Scored(
                name=entry.name,
                unit=unit,
                skill=int(index.unit_skill[unit]),
                score=value,
                features=features,
            )
        )
    return scored


def best_per_agent(scored: list[Scored]) -> dict[str, Scored]:
    best: dict[str, Scored] = {}
    for s in scored:
        if s.name not in best or s.score > best[s.name].score:
            best[s.name] = s
    return best


def apply_outcomes(
    best: dict[str, Scored],
    evidence: dict[str, tuple[float, float]],
    weights: RankingWeights,
) -> list[Scored]:
    """Add what past runs taught, clip to [0, 1], and sort best first (ties by name)."""
    for name, s in best.items():
        success, failure = evidence.get(name, (0.0, 0.0))
        s.features["success"] = success
        s.features["failure"] = failure
        s.score += weights.success * success - weights.failure * failure
        s.score = min(1.0, max(0.0, s.score))
    return sorted(best.values(), key=lambda s: (-s.score, s.name))


def rank(
    index: RegistryIndex,
    query: Query,
    filters: Filters,
    outcomes: OutcomeStore,
    weights: RankingWeights,
    *,
    now: float,
    ann: Ann | None,
    exact_rows: int,
) -> list[Scored]:
    """Every agent that passes `filters` scored for `query`, best first: the candidates
    the dense index, the lexical postings and the outcome neighbours give, each as its
    best skill, with what past runs taught added."""
    if not index.agents:
        return []
    agents_ok = index.agent_mask(
        state=filters.state, owner=filters.owner, tags=filters.tags, now=now
    )
    units_ok = index.unit_mask(
        agents_ok,
        capability=filters.capability,
        input_mode=filters.input_mode,
        output_mode=filters.output_mode,
    )
    if not units_ok.any():
        return []
    rows_ok = index.row_mask(agents_ok, units_ok)
    evidence = outcomes.evidence(query.vector, weights.outcome_threshold)
    learned = outcomes.agents_near(evidence)
    units, coverage = candidate_units(index, query, units_ok, rows_ok, learned, ann, exact_rows)
    best = best_per_agent(score_units(index, query, units, coverage, weights))
    return apply_outcomes(best, evidence, weights)


__all__ = [
    "STATIC_FEATURES",
    "Filters",
    "Query",
    "RankingWeights",
    "Scored",
    "apply_outcomes",
    "best_per_agent",
    "candidate_units",
    "rank",
    "score_units",
]

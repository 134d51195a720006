"""Discovery: which agents may do a task, best first, kept for fallback.

The registry ranks available agents for the task's need (see :mod:`mesh.ranking`);
discovery keeps those that score above the floor and can run here. A fallback must also
score at least FALLBACK_RATIO of the best: a task the transform agent refused ("not valid
JSON") is not then offered to the web reader, which only shares a word with it and could
answer something else. `runnable` is asked only about agents above the floor, best first,
until `k` are found: it may be a policy gate that decides and audits each agent it is
asked about.
"""

from __future__ import annotations

from collections.abc import Container

from mesh.models import Match, Task
from mesh.registry import Registry

SEARCH_DEPTH = 3  # matches fetched per candidate wanted, so unrunnable ones can be skipped
FALLBACK_RATIO = 0.6  # of the best score: JSON->CSV scores transform 0.75, web-reader 0.42
QUOTED_CHARS = 120  # of a task's need in an error: enough to tell which task it was


def rank_candidates(
    registry: Registry,
    task: Task,
    *,
    k: int,
    min_score: float,
    runnable: Container[str],
) -> tuple[list[Match], str | None]:
    """Ranked matches for `task`, or an empty list and the reason none qualified."""
    if task.agent:
        if task.agent not in registry:
            return [], f"the plan pins agent {task.agent!r}, which is not registered"
        card = registry.get(task.agent)
        return [Match(card=card, skill=None, score=1.0)], None
    found = registry.search(task.need, k=max(k * SEARCH_DEPTH, 10))
    good: list[Match] = []
    skipped: list[str] = []
    for match in found:
        floor = max(min_score, FALLBACK_RATIO * good[0].score) if good else min_score
        if match.score < floor or len(good) == k:
            break
        if match.card.name in runnable:
            good.append(match)
        else:
            skipped.append(match.card.name)
    if good:
        return good, None
    if not found:
        return [], f"no available agent is registered that could do {_quoted(task.need)}"
    if skipped:
        return [], (
            f"the agents that match {_quoted(task.need)} ({', '.join(skipped)}) cannot run here:"
            " add a handler with Mesh.add_agent(card, handler) or give the card a remote"
            " endpoint"
        )
    best = found[0]
    demoted = [e["agent"] for e in registry.explain(task.need, k=5) if e["evidence"].get("failure")]
    failed_before = (
        f" ({', '.join(demoted)} failed on requests like it before and rank lower for it)"
        if demoted
        else ""
    )
    return [], (
        f"no agent matches {_quoted(task.need)} well enough: the best, {best.card.name!r}, scores"
        f" {best.score:.2f}, below MESH_MIN_SCORE={min_score:g}{failed_before}; register an"
        " agent for it or pin one with Task(agent=...)"
    )


def _quoted(need: str) -> str:
    return repr(need if len(need) <= QUOTED_CHARS else f"{need[: QUOTED_CHARS - 1]}…")

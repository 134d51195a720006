"""Discovery: which agents may do a task, best first, kept for fallback.

Semantic search over the registry, then the filters a run needs: the agent is available,
can run here (has a handler or a remote endpoint), and scores above the floor.
"""

from __future__ import annotations

from collections.abc import Container

from mesh.models import Match, Task
from mesh.registry import Registry


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
    found = registry.search(task.need, k=k * 2)
    usable = [m for m in found if m.card.name in runnable]
    good = [m for m in usable if m.score >= min_score][:k]
    if good:
        return good, None
    if not found:
        return [], f"no available agent is registered that could do {task.need!r}"
    best = usable[0] if usable else found[0]
    return [], (
        f"no agent matches {task.need!r} well enough: the best, {best.card.name!r}, scores"
        f" {best.score:.2f}, below MESH_MIN_SCORE={min_score:g}; register an agent for it"
        " or pin one with Task(agent=...)"
    )

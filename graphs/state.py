"""Graph state of the orchestrator: TypedDicts and their reducers."""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

from mesh.models import Plan, Task, TaskResult


def merge_results(
    left: dict[str, TaskResult], right: dict[str, TaskResult]
) -> dict[str, TaskResult]:
    """Results of parallel tasks arrive in one superstep; each task writes its own key."""
    if not right:
        return left
    return {**left, **right}


def merge_candidates(
    left: dict[str, list[str]], right: dict[str, list[str]]
) -> dict[str, list[str]]:
    return {**left, **right} if right else left


class MeshInput(TypedDict, total=False):
    """What a caller passes to ``graph.invoke``: a request, or a ready plan, and who asks."""

    request: str
    plan: Plan
    user: str


class MeshState(TypedDict, total=False):
    request: str
    user: str
    run_id: str
    plan: Plan
    candidates: Annotated[dict[str, list[str]], merge_candidates]
    results: Annotated[dict[str, TaskResult], merge_results]
    answer: str


class WorkerInput(TypedDict):
    """What one `Send` carries to the worker: a task and all it needs to run alone."""

    task: Task
    candidates: list[str]
    upstream: dict[str, TaskResult]
    user: str
    run_id: str


def final_state(values: dict[str, Any]) -> MeshState:
    return MeshState(**values)  # type: ignore[typeddict-item]

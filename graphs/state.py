"""Graph state of the orchestrator: TypedDicts, reducers and channels.

State must grow with the number of tasks, never with its square. The big, growing
maps (tasks, results, candidates, dependants) are `DeltaChannel`s: a checkpoint stores
only the writes of its step, and a resumed thread replays them. Everything a superstep
needs is reachable by task id, so each step costs what its wave costs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, TypedDict

from langgraph.channels import DeltaChannel, EphemeralValue, Topic
from langgraph.types import Overwrite

from mesh.models import Envelope, Plan, Task, TaskResult
from mesh.usage import Usage


def merge(state: dict[str, Any], writes: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Batch-invariant dict merge (later writes win), as DeltaChannel requires."""
    merged = dict(state)
    for write in writes:
        merged.update(write)
    return merged


class MeshInput(TypedDict, total=False):
    """What a caller passes to ``graph.invoke``: a request, or a ready plan, and who asks."""

    request: str
    plan: Plan
    user: str
    review: bool


class MeshState(TypedDict, total=False):
    request: str
    plan: Plan | None  # input only: cleared once the plan is stored as `tasks`
    review: bool
    user: str
    run_id: str
    rationale: str
    tasks: Annotated[dict[str, Task], DeltaChannel(merge)]
    dependants: Annotated[dict[str, list[str]], DeltaChannel(merge)]
    candidates: Annotated[dict[str, list[str]], DeltaChannel(merge)]
    results: Annotated[dict[str, TaskResult], DeltaChannel(merge)]
    mailbox: Annotated[dict[str, Envelope], DeltaChannel(merge)]
    awaiting: Annotated[dict[str, list[str]], DeltaChannel(merge)]
    inbound: Annotated[dict[str, Inbound], DeltaChannel(merge)]  # delivery task -> message
    outbox: Annotated[list[Envelope], Topic(Envelope)]
    dispatched: Annotated[list[str], Topic(str)]  # the wave that just ran, for `collect`
    solo: Annotated[str, EphemeralValue(str)]  # the one task of a one-task wave
    ready: list[str]
    parked: list[str]
    deliveries: list[DeliveryInput]
    replans: int
    usage: Usage
    answer: str


class Inbound(TypedDict):
    """The message a delivery task was made for, and the deliveries in a row behind it."""

    envelope: str
    hops: int


class DeliveryInput(TypedDict):
    """A request envelope on its way to the agent that will answer it."""

    envelope: Envelope
    candidates: list[str]
    user: str
    run_id: str


class WorkerInput(TypedDict):
    """What one `Send` carries to the worker: a task and all it needs to run alone."""

    task: Task
    candidates: list[str]
    upstream: dict[str, TaskResult]
    inbox: dict[str, Envelope]
    user: str
    run_id: str
    solo: bool


def plan_of(state: MeshState) -> Plan:
    return Plan(tasks=list(state["tasks"].values()), rationale=state.get("rationale", ""))


def advance(
    tasks: dict[str, Task],
    dependants: dict[str, list[str]],
    results: dict[str, TaskResult],
    finished: list[str],
) -> tuple[list[str], dict[str, TaskResult]]:
    """Tasks made ready by `finished`, and those to skip because a dependency failed."""
    ready: list[str] = []
    skipped: dict[str, TaskResult] = {}
    queued: set[str] = set()
    stack = list(finished)
    while stack:
        for child in dependants.get(stack.pop(), ()):
            if child in results or child in skipped or child in queued:
                continue
            deps = tasks[child].depends_on
            done = [results.get(d) or skipped.get(d) for d in deps]
            bad = [d for d, r in zip(deps, done, strict=True) if r and r.status != "succeeded"]
            if bad:
                skipped[child] = TaskResult(
                    task_id=child,
                    status="skipped",
                    error=f"skipped because {', '.join(map(repr, bad))} did not succeed",
                )
                stack.append(child)
            elif all(done):
                ready.append(child)
                queued.add(child)
    return ready, skipped


def stored_plan(plan: Plan, replace: bool = False) -> dict[str, Any]:
    """The plan as state: tasks by id and each task's dependants, for O(wave) steps."""
    dependants: dict[str, list[str]] = {t.id: [] for t in plan.tasks}
    for task in plan.tasks:
        for dep in task.depends_on:
            dependants[dep].append(task.id)
    tasks = {t.id: t for t in plan.tasks}
    if replace:
        return {
            "tasks": Overwrite(tasks),
            "dependants": Overwrite(dependants),
            "rationale": plan.rationale,
        }
    return {"tasks": tasks, "dependants": dependants, "rationale": plan.rationale}

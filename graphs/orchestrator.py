"""The orchestrator: plan → discover → dispatch (Send per ready task) → collect → synthesize.

Every superstep sends every ready task to `dispatch` (the worker) in parallel; results merge through
a reducer keyed by task id; `collect` skips the dependants of failed tasks and loops back
until nothing is ready. With a checkpointer every step is durable, and a resumed thread
never reruns a task whose result was already written.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.config import get_config, get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Send

from mesh.discovery import rank_candidates
from mesh.errors import InputError
from mesh.graphs.runtime import Services
from mesh.graphs.state import MeshInput, MeshState, WorkerInput
from mesh.graphs.worker import run_task
from mesh.models import Plan, TaskResult, check_plan


def _emitter(step: str) -> Callable[[dict[str, Any]], None]:
    """Announce the step, then tag every event this node writes with it."""
    write = get_stream_writer()
    write({"kind": "step", "step": step})
    return lambda event: write({"step": step, **event})


def steps_for(plan_size: int) -> int:
    """Recursion limit for a plan: two supersteps per wave at worst, plus the fixed nodes."""
    return 2 * plan_size + 16


def build_orchestrator(
    services: Services, checkpointer: BaseCheckpointSaver[Any] | None = None
) -> CompiledStateGraph[Any, Any, Any, Any]:
    settings = services.settings

    def plan(state: MeshState) -> dict[str, Any]:
        emit = _emitter("plan")
        user = state.get("user") or settings.default_user
        run_id = _thread_id() or uuid.uuid4().hex
        given = state.get("plan")
        if given is None:
            request = (state.get("request") or "").strip()
            if not request:
                raise InputError("the request is empty: say what you want done")
            given = services.planner.plan(request, user)
        else:
            given = Plan.model_validate(given)
        check_plan(given.tasks, settings.max_tasks)
        emit({"kind": "plan", "plan": given.model_dump(mode="json")})
        return {"plan": given, "user": user, "run_id": run_id}

    def discover(state: MeshState) -> dict[str, Any]:
        emit = _emitter("discover")
        candidates: dict[str, list[str]] = {}
        failed: dict[str, TaskResult] = {}
        runnable = services.agents.keys()
        for task in state["plan"].tasks:
            matches, reason = rank_candidates(
                services.registry,
                task,
                k=settings.candidates,
                min_score=settings.min_score,
                runnable=runnable,
            )
            candidates[task.id] = [m.card.name for m in matches]
            emit(
                {
                    "kind": "discovered",
                    "task_id": task.id,
                    "candidates": [
                        {
                            "agent": m.card.name,
                            "skill": m.skill.name if m.skill else None,
                            "score": m.score,
                        }
                        for m in matches
                    ],
                    "reason": reason,
                }
            )
            if reason:
                failed[task.id] = TaskResult(task_id=task.id, status="failed", error=reason)
        return {"candidates": candidates, "results": failed}

    def collect(state: MeshState) -> dict[str, Any]:
        results = state.get("results") or {}
        skipped: dict[str, TaskResult] = {}
        changed = True  # plan order need not be topological: iterate to a fixpoint
        while changed:
            changed = False
            for task in state["plan"].tasks:
                if task.id in results or task.id in skipped:
                    continue
                bad = [
                    d
                    for d in task.depends_on
                    if (r := results.get(d) or skipped.get(d)) is not None
                    and r.status != "succeeded"
                ]
                if bad:
                    skipped[task.id] = TaskResult(
                        task_id=task.id,
                        status="skipped",
                        error=f"skipped because {', '.join(repr(b) for b in bad)} did not succeed",
                    )
                    changed = True
        emit = _emitter("collect")
        if skipped:
            for result in skipped.values():
                emit({"kind": "task_finished", "result": result.model_dump(mode="json")})
        return {"results": skipped}

    def route(state: MeshState) -> list[Send] | str:
        results = state.get("results") or {}
        sends = []
        for task in state["plan"].tasks:
            if task.id in results:
                continue
            if all(d in results for d in task.depends_on):
                job = WorkerInput(
                    task=task,
                    candidates=state["candidates"].get(task.id, []),
                    upstream={d: results[d] for d in task.depends_on},
                    user=state["user"],
                    run_id=state["run_id"],
                )
                sends.append(Send("dispatch", job))
        return sends or "synthesize"

    def dispatch(job: WorkerInput) -> dict[str, Any]:
        emit = _emitter("dispatch")
        result = run_task(services, job, emit)
        emit({"kind": "task_finished", "result": result.model_dump(mode="json")})
        return {"results": {result.task_id: result}}

    def synthesize(state: MeshState) -> dict[str, Any]:
        emit = _emitter("synthesize")
        answer = services.synthesizer.synthesize(
            state.get("request") or "", state["plan"], state.get("results") or {}
        )
        emit({"kind": "answer", "answer": answer})
        return {"answer": answer}

    graph = StateGraph(MeshState, input_schema=MeshInput)
    graph.add_node("plan", plan)
    graph.add_node("discover", discover)
    graph.add_node("collect", collect)
    graph.add_node("dispatch", dispatch, input_schema=WorkerInput)
    graph.add_node("synthesize", synthesize)
    graph.add_edge(START, "plan")
    graph.add_edge("plan", "discover")
    graph.add_edge("discover", "collect")
    graph.add_conditional_edges("collect", route, ["dispatch", "synthesize"])
    graph.add_edge("dispatch", "collect")
    graph.add_edge("synthesize", END)
    return graph.compile(checkpointer=checkpointer, name="mesh")


def _thread_id() -> str | None:
    try:
        return str(get_config()["configurable"]["thread_id"])
    except (KeyError, RuntimeError):
        return None

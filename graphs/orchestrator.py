"""The orchestrator: plan → discover → dispatch (a `Send` per ready task) → collect → synthesize.

This module builds the graph: its nodes (write, review and revise the plan, discover
agents, run a task, answer a request, synthesize the answer) and the edges between
them. Each superstep sends every ready task (up to `MESH_MAX_WAVE`) to `dispatch` in
parallel, and every request an agent made on the bus to `deliver`; which tasks those
are, and what `collect` does with a finished wave, is `mesh.graphs.waves`. With a
checkpointer every step is durable; a resumed thread never reruns a task whose result
was written.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.config import get_config, get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, Overwrite, Send, interrupt

from mesh.discovery import rank_candidates
from mesh.errors import BudgetExceeded, InputError, ModelError, PlanError
from mesh.genai import plan_change
from mesh.graphs.messages import response_to
from mesh.graphs.runtime import Services
from mesh.graphs.state import (
    DeliveryInput,
    MeshInput,
    MeshState,
    WorkerInput,
    plan_of,
    stored_plan,
)
from mesh.graphs.waves import collect as collect_wave
from mesh.graphs.waves import first_wave, next_step, report, successors
from mesh.graphs.worker import run_task
from mesh.models import Decision, Plan, Task, TaskResult, check_plan
from mesh.usage import Budget, UsageMeter

Emit = Callable[[dict[str, Any]], None]


def _emitter(step: str) -> Emit:
    """Announce the step, then tag every event this node writes with it.

    Events carry models, not JSON: nothing is serialised unless someone streams.
    """
    write = get_stream_writer()
    write({"kind": "step", "step": step})
    return lambda event: write({"step": step, **event})


def steps_for(plan_size: int) -> int:
    """Recursion limit for a plan: each task may take a dispatch, a delivery round and a rerun."""
    return 4 * plan_size + 64


def build_orchestrator(
    services: Services, checkpointer: BaseCheckpointSaver[Any] | None = None
) -> CompiledStateGraph[Any, Any, Any, Any]:
    settings = services.settings
    width = settings.max_wave

    def meter_of(state: MeshState) -> UsageMeter:
        """This run's model usage, carried in the state so a resumed run keeps counting."""
        return UsageMeter(Budget.from_settings(settings), state.get("usage"))

    def plan(state: MeshState) -> dict[str, Any]:
        emit = _emitter("plan")
        meter = meter_of(state)
        user = state.get("user") or settings.default_user
        given = state.get("plan")
        if given is None:
            request = (state.get("request") or "").strip()
            if not request:
                raise InputError("the request is empty: say what you want done")
            given = services.planner.plan(request, user, meter=meter)
        else:
            given = Plan.model_validate(given)
        check_plan(given.tasks, settings.max_tasks)
        emit({"kind": "plan", "plan": given})
        return {
            **stored_plan(given),
            "plan": None,
            "user": user,
            "run_id": _thread_id() or uuid.uuid4().hex,
            "usage": meter.usage,
        }

    def review(state: MeshState) -> dict[str, Any]:
        """Optional human approval of the plan: approve, edit or reject (resumed by Command)."""
        if not state.get("review"):
            return {}
        emit = _emitter("review")
        proposed = plan_of(state)
        decision = interrupt({"kind": "approval", "plan": proposed.model_dump(mode="json")})
        action = decision.get("action") if isinstance(decision, dict) else decision
        if action == "approve":
            emit({"kind": "approved"})
            return {"review": False}
        if action == "reject":
            reason = (decision.get("reason") if isinstance(decision, dict) else None) or ""
            emit({"kind": "rejected", "reason": reason})
            answer = "The plan was rejected" + (f": {reason}" if reason else ".")
            skipped = {
                t.id: TaskResult(task_id=t.id, status="skipped", error="the plan was rejected")
                for t in proposed.tasks
            }
            return {"review": False, "answer": answer, "results": skipped}
        if action == "edit":
            edited = Plan.model_validate(decision["plan"])
            check_plan(edited.tasks, settings.max_tasks)
            emit({"kind": "plan", "plan": edited, "edited": True})
            return {**stored_plan(edited, replace=True), "review": False}
        raise InputError(
            f"unknown plan decision {decision!r}: use approve, reject or edit with a plan"
        )

    def after_review(state: MeshState) -> str:
        return END if state.get("answer") else "discover"

    def discover(state: MeshState) -> dict[str, Any]:
        emit = _emitter("discover")
        candidates: dict[str, list[str]] = {}
        failed: dict[str, TaskResult] = {}
        done = state.get("results") or {}  # after a replan: the kept results
        screened: dict[str, list[Decision]] = {}  # gate 4's decisions, audited in one batch
        for task in state["tasks"].values():
            if task.id in done:
                continue
            # gate 4: discovery offers only agents the requester may engage, audited
            engage = services.policy.engageable(state["user"], services.agents)
            matches, reason = rank_candidates(
                services.registry,
                task,
                k=settings.candidates,
                min_score=settings.min_score,
                runnable=engage,
            )
            matches = [m for m in matches if engage.allows(m.card.name)]  # a pinned agent too
            screened[task.id] = list(engage.decisions.values())
            if not matches:
                reason = engage.refusal() or reason
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
        services.audit.decisions_by_task(state["run_id"], screened)
        ready, skipped = first_wave(state["tasks"], state["dependants"], done, failed)
        report(emit, {**failed, **skipped})
        return {"candidates": candidates, "results": {**failed, **skipped}, "ready": ready}

    def dispatch(job: WorkerInput) -> dict[str, Any]:
        emit = _emitter("dispatch")
        task = job["task"]
        outcome = run_task(
            services,
            task,
            job["candidates"],
            user=job["user"],
            run_id=job["run_id"],
            upstream=job["upstream"],
            inbox=job["inbox"],
            emit=emit,
        )
        update: dict[str, Any] = {"dispatched": [task.id]}
        if job.get("solo"):
            update["solo"] = task.id
        if outcome.sent:
            update["outbox"] = outcome.sent
        if outcome.result is None:
            requests = [e.id for e in outcome.sent if e.kind == "request"]
            update["awaiting"] = {task.id: outcome.asked}
            update["candidates"] = {task.id: [outcome.agent]}
            emit(
                {
                    "kind": "waiting",
                    "task_id": task.id,
                    "agent": outcome.agent,
                    "requests": requests,
                }
            )
        else:
            update["results"] = {task.id: outcome.result}
            report(emit, {task.id: outcome.result})
        return update

    def deliver(job: DeliveryInput) -> dict[str, Any]:
        emit = _emitter("deliver")
        request = job["envelope"]
        task = Task(
            id=request.id,
            description=request.payload["text"],
            capability=request.payload.get("capability"),
            inputs=request.payload.get("inputs") or {},
        )
        outcome = run_task(
            services,
            task,
            job["candidates"],
            user=job["user"],
            run_id=job["run_id"],
            upstream={},
            inbox={},
            emit=emit,
        )
        result = outcome.result or TaskResult(
            task_id=task.id,
            status="failed",
            agent=outcome.agent,
            error="an agent answering a request cannot make requests of its own",
        )
        response = response_to(request, result)
        emit({"kind": "message", "envelope": response})
        update: dict[str, Any] = {"mailbox": {response.id: response}}
        if outcome.result is not None and outcome.sent:
            update["outbox"] = outcome.sent  # the answering agent's publishes, to be filed
        return update

    def collect(state: MeshState) -> dict[str, Any]:
        return collect_wave(services, state, _emitter("collect"))

    def route(state: MeshState) -> list[Send] | str:
        return next_step(state, width, settings.max_replans)

    def after_dispatch(state: MeshState) -> list[Send] | str:
        return successors(state, width)

    def replan(state: MeshState) -> Command[str]:
        """Tasks failed beyond retries and reassignment: ask the planner for a revised plan."""
        emit = _emitter("replan")
        meter = meter_of(state)
        old, results = plan_of(state), state.get("results") or {}
        failure = "; ".join(
            f"{r.task_id}: {r.error}" for r in results.values() if r.status == "failed"
        )
        count = state.get("replans", 0) + 1
        try:
            new = services.planner.replan(
                state.get("request") or "",
                old,
                results,
                failure,
                user=state.get("user") or settings.default_user,
                meter=meter,
            )
            check_plan(new.tasks, settings.max_tasks)
        except (PlanError, BudgetExceeded, ModelError) as exc:
            emit({"kind": "replan_failed", "reason": str(exc)})
            return Command(update={"replans": count, "usage": meter.usage}, goto="synthesize")
        change = plan_change(old, new)
        emit({"kind": "replanned", "summary": change.summary, "change": change, "plan": new})
        kept = {
            i: results[i] for i in change.kept if i in results and results[i].status == "succeeded"
        }
        update = {
            **stored_plan(new, replace=True),
            "results": Overwrite(kept),
            "candidates": Overwrite({}),
            "parked": [],
            "deliveries": [],
            "replans": count,
            "usage": meter.usage,
        }
        return Command(update=update, goto="discover")

    def synthesize(state: MeshState) -> dict[str, Any]:
        emit = _emitter("synthesize")
        meter = meter_of(state)
        answer = services.synthesizer.synthesize(
            state.get("request") or "", plan_of(state), state.get("results") or {}, meter=meter
        )
        emit({"kind": "answer", "answer": answer})
        return {"answer": answer, "usage": meter.usage}

    graph = StateGraph(MeshState, input_schema=MeshInput)
    graph.add_node("plan", plan)
    graph.add_node("review", review)
    graph.add_node("discover", discover)
    # the same worker twice: a one-task wave reads the whole state after it ran (to send
    # its successors itself); the tasks of a wider wave must not each pay for that read
    graph.add_node("dispatch", dispatch, input_schema=WorkerInput)
    graph.add_node("dispatch_wave", dispatch, input_schema=WorkerInput)
    graph.add_node("deliver", deliver, input_schema=DeliveryInput)
    graph.add_node("collect", collect)
    graph.add_node("replan", replan, destinations=("discover", "synthesize"))
    graph.add_node("synthesize", synthesize)
    graph.add_edge(START, "plan")
    graph.add_edge("plan", "review")
    graph.add_conditional_edges("review", after_review, ["discover", END])
    graph.add_conditional_edges(
        "discover", route, ["dispatch", "dispatch_wave", "replan", "synthesize"]
    )
    graph.add_conditional_edges(
        "dispatch", after_dispatch, ["collect", "dispatch", "dispatch_wave"]
    )
    graph.add_edge("dispatch_wave", "collect")
    graph.add_edge("deliver", "collect")
    graph.add_conditional_edges(
        "collect", route, ["dispatch", "dispatch_wave", "deliver", "replan", "synthesize"]
    )
    graph.add_edge("synthesize", END)
    return graph.compile(checkpointer=checkpointer, name="mesh")


def _thread_id() -> str | None:
    try:
        return str(get_config()["configurable"]["thread_id"])
    except (KeyError, RuntimeError):
        return None

"""The orchestrator: plan → discover → dispatch (a `Send` per ready task) → collect → synthesize.

Each superstep sends every ready task (up to `MESH_MAX_WAVE`) to `dispatch` in parallel,
and every request an agent made on the bus to `deliver`. `collect` merges the wave,
skips the dependants of failed tasks, gates and files the wave's messages, and works out
the next wave from the dependants of what just finished, so a step costs what its wave
costs. With a checkpointer every step is durable; a resumed thread never reruns a task
whose result was written.
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

from mesh.bus import response_id
from mesh.discovery import rank_candidates
from mesh.errors import BudgetExceeded, InputError, ModelError, PlanError
from mesh.genai import plan_change
from mesh.graphs.messages import file_messages, inbox_of, response_to, route_request
from mesh.graphs.runtime import Services
from mesh.graphs.state import (
    DeliveryInput,
    MeshInput,
    MeshState,
    WorkerInput,
    advance,
    plan_of,
    stored_plan,
)
from mesh.graphs.subscriptions import fan_out
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
        tasks = state["tasks"]
        known = {**done, **failed}
        _, skipped = advance(tasks, state["dependants"], known, list(failed))
        known.update(skipped)
        ready = [
            t.id
            for t in tasks.values()
            if t.id not in known
            and all(d in known and known[d].status == "succeeded" for d in t.depends_on)
        ]
        _report(emit, {**failed, **skipped})
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
            _report(emit, {task.id: outcome.result})
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
        emit = _emitter("collect")
        tasks, results = state["tasks"], state.get("results") or {}
        mailbox = state.get("mailbox") or {}
        wave = state.get("dispatched") or []
        sent = set(wave)
        carry = [t for t in state.get("ready") or [] if t not in sent and t not in results]
        finished = [t for t in wave if t in results]
        parked = (state.get("parked") or []) + [t for t in wave if t not in results]
        newly_ready, skipped = advance(tasks, state["dependants"], results, finished)
        _report(emit, skipped)
        filed = file_messages(services, state.get("outbox") or [], mailbox, state, emit)
        mailbox = {**mailbox, **filed}
        fan = fan_out(services, filed, mailbox, state, emit)  # publishes -> subscriber tasks
        newly_ready += fan.ready
        deliveries: list[DeliveryInput] = []
        still_parked: list[str] = []
        awaiting = state.get("awaiting") or {}
        for task_id in parked:
            pending = [c for c in awaiting[task_id] if response_id(c) not in mailbox]
            if not pending:
                newly_ready.append(task_id)
                continue
            still_parked.append(task_id)
            for correlation in pending:
                delivery, denial = route_request(services, mailbox[correlation], state, emit)
                if delivery is not None:
                    deliveries.append(delivery)
                if denial is not None:
                    filed[denial.id] = denial
                    mailbox[denial.id] = denial
        # a parked task whose requests were all refused here can run again at once
        for task_id in list(still_parked):
            if all(response_id(c) in mailbox for c in awaiting[task_id]):
                still_parked.remove(task_id)
                newly_ready.append(task_id)
        update: dict[str, Any] = {"ready": carry + newly_ready, **fan.writes()}
        # write only what changed: every write is a channel update and, with a
        # checkpointer, a row; a chain would otherwise pay for five per step
        if skipped:
            update["results"] = skipped
        if filed:
            update["mailbox"] = filed
        if still_parked or state.get("parked"):
            update["parked"] = still_parked
        if deliveries or state.get("deliveries"):
            update["deliveries"] = deliveries
        return update

    def job(state: MeshState, task_id: str, solo: bool) -> WorkerInput:
        task, results = state["tasks"][task_id], state.get("results") or {}
        return WorkerInput(
            task=task,
            candidates=(state.get("candidates") or {}).get(task_id, []),
            upstream={d: results[d] for d in task.depends_on},
            inbox=inbox_of(state, task_id),
            user=state["user"],
            run_id=state["run_id"],
            solo=solo,
        )

    def route(state: MeshState) -> list[Send] | str:
        deliveries = state.get("deliveries") or []
        sends = [Send("deliver", d) for d in deliveries]
        results = state.get("results") or {}
        ready = [t for t in state.get("ready") or [] if t not in results][:width]
        solo = len(ready) == 1 and not deliveries and not state.get("parked")
        sends += [Send(_dispatch_node(solo), job(state, t, solo)) for t in ready]
        if sends:
            return sends
        failed = any(r.status == "failed" for r in results.values())
        return (
            "replan" if failed and state.get("replans", 0) < settings.max_replans else "synthesize"
        )

    def after_dispatch(state: MeshState) -> list[Send] | str:
        """A one-task wave that finished cleanly sends its successors itself.

        A chain would otherwise pay a `collect` superstep per task. Anything else
        (a failure, a skip, messages, several tasks in the wave) goes through `collect`.
        """
        task_id = state.get("solo")
        if not task_id or state.get("outbox") or state.get("parked"):
            return "collect"
        results = state.get("results") or {}
        done = results.get(task_id)
        if done is None or done.status != "succeeded":
            return "collect"
        newly_ready, skipped = advance(state["tasks"], state["dependants"], results, [task_id])
        if skipped or not newly_ready or len(newly_ready) > width:
            return "collect"
        solo = len(newly_ready) == 1
        return [Send(_dispatch_node(solo), job(state, t, solo)) for t in newly_ready]

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


def _dispatch_node(solo: bool) -> str:
    return "dispatch" if solo else "dispatch_wave"


def _report(emit: Emit, results: dict[str, TaskResult]) -> None:
    for result in results.values():
        emit({"kind": "task_finished", "result": result})


def _thread_id() -> str | None:
    try:
        return str(get_config()["configurable"]["thread_id"])
    except (KeyError, RuntimeError):
        return None

"""Wave scheduling: from what just finished, work out what runs next.

The orchestrator's nodes do the work (plan, discover, run a task, answer a request);
this module decides the order. `first_wave` picks the tasks that can start once
discovery is done; `collect` merges a finished wave, skips the dependants of failed
tasks, files the wave's messages and releases the tasks whose replies are in;
`next_step` turns the ready set into `Send`s (at most `MESH_MAX_WAVE` per superstep)
or picks replan or synthesize; `successors` lets a one-task wave send its successors
itself. Each works from the dependants of what just finished, never from the whole
plan, so a step costs what its wave costs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langgraph.types import Send

from mesh.bus import response_id
from mesh.graphs.messages import file_messages, inbox_of, route_request
from mesh.graphs.runtime import Services
from mesh.graphs.state import DeliveryInput, MeshState, WorkerInput, advance
from mesh.graphs.subscriptions import fan_out
from mesh.models import Task, TaskResult

Emit = Callable[[dict[str, Any]], None]


def report(emit: Emit, results: dict[str, TaskResult]) -> None:
    """Stream one `task_finished` event per result."""
    for result in results.values():
        emit({"kind": "task_finished", "result": result})


def first_wave(
    tasks: dict[str, Task],
    dependants: dict[str, list[str]],
    done: dict[str, TaskResult],
    failed: dict[str, TaskResult],
) -> tuple[list[str], dict[str, TaskResult]]:
    """The tasks that can start now, and those skipped because a dependency failed.

    `done` holds the results kept from before a replan, `failed` the tasks discovery
    found no agent for.
    """
    known = {**done, **failed}
    _, skipped = advance(tasks, dependants, known, list(failed))
    known.update(skipped)
    ready = [
        t.id
        for t in tasks.values()
        if t.id not in known
        and all(d in known and known[d].status == "succeeded" for d in t.depends_on)
    ]
    return ready, skipped


def collect(services: Services, state: MeshState, emit: Emit) -> dict[str, Any]:
    """Merge the wave that just ran into the next ready set; file and route its messages."""
    tasks, results = state["tasks"], state.get("results") or {}
    mailbox = state.get("mailbox") or {}
    wave = state.get("dispatched") or []
    sent = set(wave)
    carry = [t for t in state.get("ready") or [] if t not in sent and t not in results]
    finished = [t for t in wave if t in results]
    parked = (state.get("parked") or []) + [t for t in wave if t not in results]
    newly_ready, skipped = advance(tasks, state["dependants"], results, finished)
    report(emit, skipped)
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


def next_step(state: MeshState, width: int, max_replans: int) -> list[Send] | str:
    """The next superstep: pending deliveries and up to `width` ready tasks, else the end.

    With nothing left to send, a run with failed tasks is replanned while replans
    remain; otherwise it is synthesized.
    """
    deliveries = state.get("deliveries") or []
    sends = [Send("deliver", d) for d in deliveries]
    results = state.get("results") or {}
    ready = [t for t in state.get("ready") or [] if t not in results][:width]
    solo = len(ready) == 1 and not deliveries and not state.get("parked")
    sends += [Send(dispatch_node(solo), worker_input(state, t, solo)) for t in ready]
    if sends:
        return sends
    failed = any(r.status == "failed" for r in results.values())
    return "replan" if failed and state.get("replans", 0) < max_replans else "synthesize"


def successors(state: MeshState, width: int) -> list[Send] | str:
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
    return [Send(dispatch_node(solo), worker_input(state, t, solo)) for t in newly_ready]


def worker_input(state: MeshState, task_id: str, solo: bool) -> WorkerInput:
    """All one task needs to run alone: its candidates, upstream results and inbox."""
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


def dispatch_node(solo: bool) -> str:
    """A one-task wave runs on `dispatch` (which may send on), a wider one on `dispatch_wave`."""
    return "dispatch" if solo else "dispatch_wave"

"""The message channel inside the graph: gate, file and route what agents send.

`collect` calls these for the wave that just ran: each envelope is authenticated (signed
by the agent that really ran) and, for publishes, gated on its topic; each request is
gated twice (the asking agent may request, the user it acts for may dispatch) and routed
to the agents that may answer it, best first. Every decision is audited; a refused
request comes back to its task as a failed answer, never as silence.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mesh.bus import response_id
from mesh.discovery import rank_candidates
from mesh.graphs.runtime import Services
from mesh.graphs.state import DeliveryInput, MeshState
from mesh.models import Decision, Envelope, Task, TaskResult

Emit = Callable[[dict[str, Any]], None]


def file_messages(
    services: Services,
    outbox: list[Envelope],
    mailbox: dict[str, Envelope],
    state: MeshState,
    emit: Emit,
) -> dict[str, Envelope]:
    """Authenticate and gate the wave's messages; file the ones that pass (audited)."""
    filed: dict[str, Envelope] = {}
    for envelope in outbox:
        if envelope.id in mailbox or envelope.id in filed:
            continue  # a rerun of a parked task repeats its earlier messages
        decision = _gate(services, envelope, state)
        if not decision.allowed:
            emit(
                {
                    "kind": "policy_denied",
                    "task_id": envelope.task_id,
                    "agent": envelope.sender,
                    "user": state["user"],
                    "reason": decision.reason,
                    **({"topic": envelope.topic} if envelope.kind == "publish" else {}),
                }
            )
            if envelope.kind == "request":  # the asking task gets a refusal, not silence
                error = f"message refused: {decision.reason}"
                refusal = TaskResult(task_id=envelope.id, status="failed", error=error)
                filed[response_id(envelope.id)] = response_to(envelope, refusal)
            continue
        filed[envelope.id] = envelope
        emit({"kind": "message", "envelope": envelope})
    return filed


def _gate(services: Services, envelope: Envelope, state: MeshState) -> Decision:
    """Signed by the agent that really ran, then (a publish) allowed on its topic; audited."""
    proof = services.policy.authenticate(envelope)
    services.audit.decision(proof, state["run_id"], envelope.task_id or "")
    if not proof.allowed or envelope.kind != "publish":
        return proof
    decision = services.policy.check(
        f"agent:{envelope.sender}", f"topic:{envelope.topic}", "publish"
    )
    services.audit.decision(decision, state["run_id"], envelope.task_id or "")
    return decision


def route_request(
    services: Services, request: Envelope, state: MeshState, emit: Emit
) -> tuple[DeliveryInput | None, Envelope | None]:
    """Gate a request (the asking agent, and the user it acts for) and pick its agents."""
    wanted = Task(
        id=request.id,
        description=request.payload["text"],
        capability=request.payload.get("capability"),
        agent=request.recipient,
    )
    matches, reason = rank_candidates(
        services.registry,
        wanted,
        k=services.settings.candidates,
        min_score=services.settings.min_score,
        runnable=services.agents,
    )
    allowed: list[str] = []
    for match in matches:
        decision = services.policy.check(
            f"agent:{request.sender}", f"agent:{match.card.name}", "request"
        )
        services.audit.decision(decision, state["run_id"], request.task_id or "")
        if decision.allowed:
            allowed.append(match.card.name)
        else:
            reason = f"policy denied agent {request.sender!r} a request to {match.card.name!r}"
            emit(
                {
                    "kind": "policy_denied",
                    "task_id": request.task_id,
                    "agent": match.card.name,
                    "user": f"agent:{request.sender}",
                }
            )
    if not allowed:
        failed = TaskResult(task_id=request.id, status="failed", error=reason)
        return None, response_to(request, failed)
    job = DeliveryInput(
        envelope=request, candidates=allowed, user=state["user"], run_id=state["run_id"]
    )
    return job, None


def response_to(request: Envelope, result: TaskResult) -> Envelope:
    return Envelope(
        id=response_id(request.id),
        topic=request.topic,
        sender=result.agent or "mesh",
        recipient=request.sender,
        kind="response",
        correlation_id=request.id,
        payload={"result": result.model_dump(mode="json")},
        task_id=request.task_id,
    )


def inbox_of(state: MeshState, task_id: str) -> dict[str, Envelope]:
    """A task's inbox: the answers to its requests, and the message it was delivered."""
    mailbox, awaiting = state.get("mailbox") or {}, state.get("awaiting") or {}
    inbox = {
        response_id(c): mailbox[response_id(c)]
        for c in awaiting.get(task_id, ())
        if response_id(c) in mailbox
    }
    inbound = (state.get("inbound") or {}).get(task_id)
    if inbound is not None and inbound["envelope"] in mailbox:
        inbox[inbound["envelope"]] = mailbox[inbound["envelope"]]
    return inbox

"""The execution engine's worker: one task, through the gate, with retries and fallback.

For each ranked candidate: the Casbin gate (requester → agent, audited), then up to
`max_attempts` attempts with exponential backoff and a per-attempt timeout, then the
next candidate. The worker never raises: every outcome is a `TaskResult`, so no task
is lost, and every outcome is fed back to discovery.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from mesh.errors import MeshError
from mesh.graphs.agent import invoke_agent
from mesh.graphs.runtime import Services
from mesh.graphs.state import WorkerInput
from mesh.models import TaskRequest, TaskResult

log = logging.getLogger(__name__)

Emit = Callable[[dict[str, Any]], None]


def run_task(services: Services, job: WorkerInput, emit: Emit) -> TaskResult:
    task, user, run_id = job["task"], job["user"], job["run_id"]
    settings = services.settings
    attempts = 0
    errors: list[str] = []
    for index, agent in enumerate(job["candidates"]):
        if index:
            emit({"kind": "reassigned", "task_id": task.id, "agent": agent, "after": errors[-1]})
        decision = services.policy.check(user, f"agent:{agent}", "dispatch")
        services.audit.decision(decision, run_id=run_id, task_id=task.id)
        if not decision.allowed:
            emit({"kind": "policy_denied", "task_id": task.id, "agent": agent, "user": user})
            errors.append(f"policy denied {user!r} dispatch to agent {agent!r}")
            continue
        graph = services.agents.get(agent)
        if graph is None:
            errors.append(
                f"agent {agent!r} has no handler in this process: add it with"
                " Mesh.add_agent(card, handler)"
            )
            continue
        delay = settings.retry_backoff
        for attempt in range(1, settings.max_attempts + 1):
            attempts += 1
            request = TaskRequest(
                task_id=task.id,
                description=task.description,
                capability=task.capability,
                inputs=task.inputs,
                upstream=job["upstream"],
                user=user,
                run_id=run_id,
                attempt=attempts,
            )
            emit({"kind": "task_started", "task_id": task.id, "agent": agent, "attempt": attempts})
            try:
                result = _attempt(services, agent, request)
            except Exception as exc:
                error = _describe(agent, exc, settings.task_timeout)
                errors.append(error)
                if attempt < settings.max_attempts:
                    emit({"kind": "retry", "task_id": task.id, "agent": agent, "error": error})
                    (services.sleep or time.sleep)(delay)
                    delay *= 2
                continue
            if result.status == "succeeded":
                _learn(services, task.need, agent, True)
                return result.model_copy(update={"attempts": attempts})
            errors.append(result.error or f"agent {agent!r} reported failure")
        _learn(services, task.need, agent, False)
    reason = "; ".join(errors) if errors else "no agent was available for this task"
    return TaskResult(
        task_id=task.id,
        status="failed",
        agent=job["candidates"][-1] if job["candidates"] else None,
        attempts=attempts,
        error=reason,
    )


def _attempt(services: Services, agent: str, request: TaskRequest) -> TaskResult:
    future = services.pool.submit(invoke_agent, agent, services.agents[agent], request)
    return future.result(timeout=services.settings.task_timeout)


def _describe(agent: str, exc: BaseException, timeout: float) -> str:
    if isinstance(exc, FutureTimeout | TimeoutError):
        return f"agent {agent!r} timed out after {timeout:g}s"
    if isinstance(exc, MeshError):
        return f"agent {agent!r}: {exc}"
    return f"agent {agent!r} raised {type(exc).__name__}: {exc}"


def _learn(services: Services, query: str, agent: str, success: bool) -> None:
    """Feed discovery; a store hiccup here is logged, never turned into a task failure."""
    try:
        services.registry.record_outcome(query, agent, success)
    except Exception:
        log.warning("could not record the outcome of %r on %r", query, agent, exc_info=True)

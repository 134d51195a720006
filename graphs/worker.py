"""The execution engine's worker: one task, through the gate, with retries and fallback.

For each ranked candidate: the Casbin gate (requester → agent, audited), then up to
`max_attempts` attempts with exponential backoff and a per-attempt timeout, then the
next candidate. Only a failure that another try could fix is retried on the same agent
(`mesh.retry.retryable`, modelled on LangGraph's ``default_retry_on``): a
timeout, a lost connection, HTTP 5xx, a plain `AgentError`, a failed `TaskResult` the
agent returned. `TaskRejected`, bad values and types (``ValueError``, ``TypeError``,
``LookupError`` ...), bugs (``RuntimeError``) and HTTP 4xx go to the next candidate at
once, with no backoff and no ``retry`` event; their error is still in the task's reason.
`InvalidInput` (the task is the agent's, its input is wrong) ends the task there: the
next candidates' refusals would only bury the reason, and no outcome is recorded.
The worker never raises: every outcome is a `TaskResult` (or a parked task waiting for
replies), so no task is lost, and discovered tasks feed their outcome back to discovery,
except failures that only say the agent or what it calls was unreachable
(`mesh.retry.transient`: timeouts, lost connections, `AgentUnavailable`, 5xx). A
`TaskRejected` is taught only when a later candidate then does the task: the refusal
showed who fits. When every candidate refuses, the ask was one nobody could do as
worded ("sum of 10, 20 and 30 miles in km"), and ranking its refusers lower would only
hide them from the rewording their refusal suggests.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from mesh.bus import AwaitingReplies, Channel
from mesh.errors import InvalidInput, MeshError, TaskRejected
from mesh.graphs.runtime import Services
from mesh.identity import run_as
from mesh.models import Envelope, Task, TaskRequest, TaskResult
from mesh.retry import retryable, transient

log = logging.getLogger(__name__)

Emit = Callable[[dict[str, Any]], None]


@dataclass
class Outcome:
    """A finished task (`result`), or one parked on `agent` until its requests are answered."""

    result: TaskResult | None
    agent: str | None = None
    sent: list[Envelope] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)


def run_task(
    services: Services,
    task: Task,
    candidates: list[str],
    *,
    user: str,
    run_id: str,
    upstream: dict[str, TaskResult],
    inbox: dict[str, Envelope],
    emit: Emit,
) -> Outcome:
    settings = services.settings
    attempts = 0
    errors: list[str] = []
    refused: list[str] = []  # taught as misfits only once another candidate does the task
    for index, agent in enumerate(candidates):
        if index:
            emit({"kind": "reassigned", "task_id": task.id, "agent": agent, "after": errors[-1]})
        decision = services.policy.check(user, f"agent:{agent}", "dispatch")
        services.audit.decision(decision, run_id=run_id, task_id=task.id)
        if not decision.allowed:
            emit({"kind": "policy_denied", "task_id": task.id, "agent": agent, "user": user})
            errors.append(f"policy denied {user!r} dispatch to agent {agent!r}")
            continue
        runner = services.agents.get(agent)
        if runner is None:
            errors.append(
                f"agent {agent!r} has no handler in this process: add it with"
                " Mesh.add_agent(card, handler)"
            )
            continue
        delay, blamed = settings.retry_backoff, False
        for attempt in range(1, settings.max_attempts + 1):
            attempts += 1
            request = TaskRequest(
                task_id=task.id,
                description=task.description,
                capability=task.capability,
                inputs=task.inputs,
                upstream=upstream,
                inbox=inbox,
                user=user,
                run_id=run_id,
                attempt=attempts,
            )
            channel = Channel(agent, task.id, inbox)
            request._channel = channel
            emit({"kind": "task_started", "task_id": task.id, "agent": agent, "attempt": attempts})
            try:
                call = run_as(f"agent:{agent}", runner.call)  # the agent acts as itself
                future = services.pool.submit(call, request, settings.task_timeout)
                result = future.result(timeout=settings.task_timeout)
            except AwaitingReplies:
                sent = _signed(services, agent, task.id, channel)
                return Outcome(None, agent, sent, channel.asked)
            except InvalidInput as exc:  # the input is wrong: no other agent would do better
                errors.append(describe_failure(agent, exc))
                return Outcome(_failed(task, agent, attempts, _summary(errors)))
            except TaskRejected as exc:
                error, again = describe_failure(agent, exc), False
                refused.append(agent)
            except Exception as exc:
                error, again = describe_failure(agent, exc, settings.task_timeout), retryable(exc)
                blamed = blamed or not transient(exc)
            else:
                if result.status == "succeeded":
                    for misfit in refused:
                        _learn(services, task, misfit, False)
                    _learn(services, task, agent, True)
                    return Outcome(
                        result.model_copy(update={"attempts": attempts}),
                        agent,
                        _signed(services, agent, task.id, channel),
                    )
                error, again = result.error or f"agent {agent!r} reported failure", True
                blamed = True
            errors.append(error)
            if not again or attempt == settings.max_attempts:
                break
            emit({"kind": "retry", "task_id": task.id, "agent": agent, "error": error})
            time.sleep(delay)
            delay *= 2
        if blamed:  # an agent that was down or timed out is not worse at this ask
            _learn(services, task, agent, False)
    reason = _summary(errors) if errors else "no agent was available for this task"
    failed = _failed(task, candidates[-1] if candidates else None, attempts, reason)
    return Outcome(failed)


def _failed(task: Task, agent: str | None, attempts: int, reason: str) -> TaskResult:
    return TaskResult(
        task_id=task.id, status="failed", agent=agent, attempts=attempts, error=reason
    )


def _summary(errors: list[str]) -> str:
    """The errors of every attempt, a repeated one said once with its count."""
    counted: dict[str, int] = {}
    for error in errors:
        counted[error] = counted.get(error, 0) + 1
    return "; ".join(e if n == 1 else f"{e} ({n} attempts)" for e, n in counted.items())


def _signed(services: Services, agent: str, task_id: str, channel: Channel) -> list[Envelope]:
    """Sign what the agent sent with the key of the agent that ran, whatever it claims.

    Each envelope is stamped with the task that really ran (a handler can edit what it
    was handed): a delivery's dependency and its hop count are worked out from it.
    """
    sign = services.policy.identity.sign
    return [sign(e.model_copy(update={"task_id": task_id}), agent) for e in channel.outbox]


def describe_failure(agent: str, exc: BaseException, timeout: float | None = None) -> str:
    """One line saying how an agent failed; a timeout names `timeout` when it is ours."""
    if timeout is not None and isinstance(exc, FutureTimeout | TimeoutError):
        return f"agent {agent!r} timed out after {timeout:g}s"
    if isinstance(exc, MeshError):
        return f"agent {agent!r}: {exc}"
    return f"agent {agent!r} raised {type(exc).__name__}: {exc}"


def _learn(services: Services, task: Task, agent: str, success: bool) -> None:
    """Feed discovery with what it chose; a pinned task was not discovery's choice."""
    if task.agent:
        return
    try:
        services.registry.record_outcome(task.need, agent, success)
    except Exception:
        log.warning("could not record the outcome of %r on %r", task.need, agent, exc_info=True)

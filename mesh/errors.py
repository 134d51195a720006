"""One exception tree for the whole mesh, rooted at :class:`MeshError`.

Every message says what was wrong and what to do about it, so a user who sees one in a
traceback, the CLI or the chat knows the next step without reading our source.
"""

from __future__ import annotations


class MeshError(Exception):
    """Base of every error the mesh raises on purpose."""


class ConfigError(MeshError):
    """Settings, files or installed parts are missing or inconsistent."""


class EmbeddingError(ConfigError):
    """The embedding model cannot be loaded or run."""


class InputError(MeshError):
    """Input crossing a boundary (a request, a card, a plan) is malformed."""


class PlanError(InputError):
    """A plan is empty, cyclic, refers to unknown tasks, or cannot be written."""


class RegistryError(MeshError):
    """A registry write or read failed; nothing was half-written."""


class AgentNotFound(RegistryError):
    """No agent of that name is registered."""


class DiscoveryError(MeshError):
    """No available agent matches what a task needs."""


class PolicyDenied(MeshError):
    """The policy gate refused an edge; the decision is in the audit log."""

    def __init__(self, message: str, *, subject: str = "", obj: str = "", action: str = ""):
        super().__init__(message)
        self.subject = subject
        self.obj = obj
        self.action = action


class AgentError(MeshError):
    """An agent failed a task (a network failure, a crash, a timeout); another try may work.

    The worker retries a plain `AgentError` on the same agent (`MESH_MAX_ATTEMPTS`, with
    backoff) before offering the task to the next candidate.
    """


class TaskRejected(AgentError):
    """This agent cannot do this task as given: the input is not one it understands or allows.

    Retrying it will not help, so the mesh offers the task to the next candidate at once
    (no second attempt, no backoff). Raise it for deterministic refusals, e.g. "found no
    arithmetic expression in 'tell me a joke': give one such as 'What is 17 * 23?'"; raise
    `AgentUnavailable` for what may pass on another try (a timeout, a refused connection,
    a 5xx). Like every `MeshError`, its message says what was wrong and what to do.
    Discovery ranks the agent lower for asks like it only once another candidate does the
    task: when every candidate refuses, the ask is one nobody could do as worded.
    """


class InvalidInput(TaskRejected):
    """The task is this agent's kind, but its input is wrong: not valid JSON, a date that
    does not exist, a division by zero.

    No other agent would do better, so the mesh does not offer the task to the next
    candidate (their refusals would only bury the reason), and discovery does not rank
    the agent lower for asks like it: a user's typo is not the agent's failing. Raise
    `TaskRejected` instead when the task may simply not be this agent's.
    """


class AgentUnavailable(AgentError):
    """The agent, or something it depends on, could not be reached or did not answer: a
    timeout, a refused connection, a failed lookup, HTTP 5xx.

    Another try may pass, so it is retried; and since it says nothing about whether the
    agent suits the task, discovery does not learn from it (an agent that was down is not
    ranked lower for the asks it missed). Agents that call out raise it for such failures.
    """


class AuditError(MeshError):
    """The audit log is unreadable or its hash chain is broken."""


class ModelError(MeshError):
    """The configured language model could not be reached or kept failing."""


class BudgetExceeded(MeshError):
    """A run used up its model budget (calls or tokens); the run stops with the reason."""


__all__ = [
    "AgentError",
    "AgentNotFound",
    "AuditError",
    "BudgetExceeded",
    "ConfigError",
    "DiscoveryError",
    "EmbeddingError",
    "InputError",
    "InvalidInput",
    "MeshError",
    "ModelError",
    "PlanError",
    "PolicyDenied",
    "RegistryError",
    "TaskRejected",
]

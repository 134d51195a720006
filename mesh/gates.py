"""Where the policy meets the other services: what discovery may offer a requester, and
the gate on registry writes. Each decision is made by :class:`mesh.policy.Policy` and
kept for the audit log.
"""

from __future__ import annotations

from collections.abc import Callable, Container

from mesh.audit import AuditLog
from mesh.errors import PolicyDenied
from mesh.identity import acting_principal
from mesh.models import AgentCard, Decision
from mesh.policy import Policy


class Engageable:
    """The agents `principal` may dispatch, among `runnable`: what discovery may offer.

    Used as the ``runnable`` container of discovery, so a planner or a ranking never sees
    an agent the requester could not use; each decision is kept for the audit log.
    """

    def __init__(self, policy: Policy, principal: str, runnable: Container[str]) -> None:
        self.policy, self.principal, self.runnable = policy, principal, runnable
        self.decisions: dict[str, Decision] = {}

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.runnable and self.allows(name)

    def allows(self, name: str) -> bool:
        """May the principal dispatch to agent `name`? (decided once, kept for the audit)"""
        decision = self.decisions.get(name)
        if decision is None:
            checked = self.policy.check(self.principal, f"agent:{name}", "dispatch")
            decision = checked.model_copy(update={"action": "discover"})
            self.decisions[name] = decision
        return decision.allowed

    def refusal(self) -> str | None:
        """Why a task has no candidate, if the policy hid agents that were found."""
        denied = [name for name, d in self.decisions.items() if not d.allowed]
        if not denied:
            return None
        return (
            f"policy denied {self.principal!r} dispatch to {', '.join(map(repr, denied))}, and"
            " no agent it may engage fits the task: ask for access (`mesh policy add"
            f" {self.principal} agent:NAME dispatch`) or rephrase the request"
        )


def registry_gate(
    policy: Policy, audit: AuditLog, registry: Container[str], default_principal: str
) -> Callable[[str, AgentCard | None, str], None]:
    """The registry's write hook: register, update, heartbeat and remove pass the gate.

    The principal is the one set with `acting_as` (the worker sets ``agent:<name>`` while
    an agent runs), else `default_principal`. Writing a card that exists is an
    ``update``; an allowed write issues the agent's key, a removal revokes it. Every
    decision is audited.
    """

    def hook(action: str, card: AgentCard | None, name: str) -> None:
        principal = acting_principal() or default_principal
        existing = "update" if name in registry else "register"
        act = action if action in ("remove", "heartbeat") else existing
        decision = policy.check(principal, f"registry:{name}", act)
        audit.decision(decision)
        if not decision.allowed:
            raise PolicyDenied(
                f"policy denied {principal!r} to {act} agent {name!r} ({decision.reason});"
                " nothing was written. A publisher role is needed, and an agent may update"
                " only its own card",
                subject=principal,
                obj=f"registry:{name}",
                action=act,
            )
        if act == "remove":
            policy.identity.revoke(name)
        else:
            policy.identity.issue(name)

    return hook


__all__ = ["Engageable", "registry_gate"]

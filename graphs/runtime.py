"""What the graph's nodes need from the mesh, passed in once when the graph is built."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from langgraph.pregel import Pregel

from mesh.audit import AuditLog
from mesh.models import Plan, TaskResult
from mesh.policy import Policy
from mesh.registry import Registry
from mesh.settings import Settings


class Planner(Protocol):
    def plan(self, request: str, user: str) -> Plan: ...


class Synthesizer(Protocol):
    def synthesize(self, request: str, plan: Plan, results: dict[str, TaskResult]) -> str: ...


@dataclass
class Services:
    settings: Settings
    registry: Registry
    policy: Policy
    audit: AuditLog
    planner: Planner
    synthesizer: Synthesizer
    agents: dict[str, Pregel] = field(default_factory=dict)
    pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=32, thread_name_prefix="mesh-agent")
    )
    sleep: Callable[[float], Any] | None = None

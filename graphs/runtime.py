"""What the graph's nodes need from the mesh, passed in once when the graph is built."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from mesh.audit import AuditLog
from mesh.graphs.agent import AgentRunner
from mesh.models import Plan, TaskResult
from mesh.policy import Policy
from mesh.registry import Registry
from mesh.settings import Settings
from mesh.usage import UsageMeter

AGENT_THREADS = 64


class Planner(Protocol):
    def plan(self, request: str, user: str, *, meter: UsageMeter | None = None) -> Plan: ...

    def replan(
        self,
        request: str,
        plan: Plan,
        results: dict[str, TaskResult],
        failure: str | None = None,
        *,
        user: str = "local",
        meter: UsageMeter | None = None,
    ) -> Plan: ...


class Synthesizer(Protocol):
    def synthesize(
        self,
        request: str,
        plan: Plan,
        results: dict[str, TaskResult],
        *,
        meter: UsageMeter | None = None,
    ) -> str: ...


@dataclass
class Services:
    settings: Settings
    registry: Registry
    policy: Policy
    audit: AuditLog
    planner: Planner
    synthesizer: Synthesizer
    agents: dict[str, AgentRunner] = field(default_factory=dict)
    pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(AGENT_THREADS, thread_name_prefix="mesh-agent")
    )
    _loop: asyncio.AbstractEventLoop | None = None
    _loop_lock: threading.Lock = field(default_factory=threading.Lock)

    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop async agents run on: one daemon thread, started on first use."""
        with self._loop_lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="mesh-agents", daemon=True).start()
                self._loop = loop
            return self._loop

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)

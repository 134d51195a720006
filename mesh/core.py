"""The `Mesh` facade: the services wired together behind a small API.

`Mesh.local(home)` starts every real part embedded (Chroma on disk, SQLite checkpoints
and audit, Casbin with the default policy, the offline planner unless an LLM is set,
the built-in agents). Everything it holds is also reachable for direct use:
`m.registry`, `m.policy`, `m.audit`, and `m.graph` for `graph.invoke` and notebooks.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command
from pydantic import BaseModel

from mesh.audit import AuditLog
from mesh.errors import AgentNotFound, InputError, MeshError
from mesh.gates import registry_gate
from mesh.genai import check_request, make_planner, make_synthesizer
from mesh.graphs.agent import Handler, make_runner
from mesh.graphs.checkpoint import make_checkpointer
from mesh.graphs.orchestrator import build_orchestrator, steps_for
from mesh.graphs.runtime import AGENT_THREADS, Services
from mesh.graphs.state import plan_of
from mesh.identity import ORCHESTRATOR, Keyring, acting_as, check_user
from mesh.models import AgentCard, Event, Plan, RunResult, check_plan
from mesh.policy import Policy
from mesh.registry import Registry, parse_card
from mesh.settings import Settings, load_settings
from mesh.usage import Budget, RunMeters


class Mesh:
    _meters: RunMeters | None = None  # model usage per run, when Mesh.local built the services

    def __init__(self, services: Services, checkpointer: BaseCheckpointSaver[Any] | None) -> None:
        self._services = services
        self._checkpointer = checkpointer
        self.graph: CompiledStateGraph[Any, Any, Any, Any] = build_orchestrator(
            services, checkpointer
        )

    @classmethod
    def local(
        cls,
        home: str | Path | None = None,
        *,
        settings: Settings | None = None,
        builtin_agents: bool = True,
        durable: bool = True,
    ) -> Mesh:
        """A mesh whose every part runs in this process, with its files under `home`.

        `durable=False` runs without a checkpointer: faster, but a crashed run is lost
        and `resume` is unavailable.
        """
        from mesh.registry import embedding_from_settings
        from mesh.vectorstore.client import make_client

        settings = settings or load_settings()
        if home is not None:
            settings = settings.model_copy(update={"home": Path(home)})
        home_path = settings.home
        home_path.mkdir(parents=True, exist_ok=True)
        embedding = embedding_from_settings(settings.embeddings)
        client = make_client(home_path, settings.chroma_url)
        registry = Registry(client, embedding, watch=settings.registry_watch)
        meters = RunMeters(Budget.from_settings(settings))
        policy = Policy.at(home_path / "policy")
        services = Services(
            settings=settings,
            registry=registry,
            policy=policy,
            audit=AuditLog(home_path / "audit.sqlite"),
            planner=make_planner(settings, registry, meters, policy.may_dispatch),
            synthesizer=make_synthesizer(settings, meters),
        )
        registry.write_hook = registry_gate(
            services.policy, services.audit, registry, settings.default_user
        )
        saver = make_checkpointer(home_path, settings.checkpoint_url) if durable else None
        mesh = cls(services, saver)
        mesh._meters = meters
        if builtin_agents:
            from mesh.agents import builtin_agents as load_builtins

            with acting_as(ORCHESTRATOR):
                for card, handler in load_builtins(client, embedding):
                    mesh.add_agent(card, handler)
        from mesh.remote import attach_remote_agents

        attach_remote_agents(mesh)  # registered remote agents run again, no network call
        return mesh

    @property
    def settings(self) -> Settings:
        return self._services.settings

    @property
    def registry(self) -> Registry:
        return self._services.registry

    @property
    def policy(self) -> Policy:
        return self._services.policy

    @property
    def audit(self) -> AuditLog:
        return self._services.audit

    @property
    def identity(self) -> Keyring:
        """Agents' secrets: `issue(name)` gives a remote agent the key it signs with."""
        return self._services.policy.identity

    def acting_as(self, principal: str) -> AbstractContextManager[str]:
        """Registry writes in this block act as `principal` (default: the local owner).

        ``with m.acting_as("alice"): m.registry.register(card)`` needs alice to hold a
        publisher role; ``acting_as("agent:weather")`` may update only weather's card.
        """
        return acting_as(principal)

    @property
    def agents(self) -> list[str]:
        """Names of the agents that can run in this process."""
        return sorted(self._services.agents)

    def add_agent(self, card: AgentCard | dict[str, Any] | str, handler: Handler) -> AgentCard:
        """Register `card` and run `handler` for it; a bad card or handler changes nothing."""
        parsed = card if isinstance(card, AgentCard) else parse_card(card)
        runner = make_runner(parsed.name, handler, self._services.loop)
        known = parsed.name in self.registry and self.registry.get(parsed.name) == parsed
        if not known:
            self.registry.register(parsed)
        self._services.agents[parsed.name] = runner
        return parsed

    def attach_agent(self, name: str, handler: Handler) -> bool:
        """Run `handler` for the registered agent `name`, without writing the registry.

        For a card registered by another process or before a restart. An agent that
        already runs here keeps its handler, and this returns False.
        """
        if name in self._services.agents:
            return False
        self._services.agents[name] = make_runner(name, handler, self._services.loop)
        return True

    def detach_agent(self, name: str) -> bool:
        """Stop running agent `name` in this process (its card, if any, stays registered);
        False if it did not run here."""
        return self._services.agents.pop(name, None) is not None

    def agent_graph(self, name: str) -> Any:
        """The subgraph an agent runs as (`TaskRequest` in, `TaskResult` out), for notebooks."""
        if name not in self._services.agents:
            raise AgentNotFound(f"no agent named {name!r} runs in this process")
        return self._services.agents[name].graph

    def run(
        self, request: str, *, user: str | None = None, thread_id: str | None = None
    ) -> RunResult:
        """Plan, discover, dispatch and answer `request`; blocks until done."""
        text = check_request(request)
        return self._invoke({"request": text, "user": self._user(user)}, thread_id, None)

    def execute(
        self, plan: Plan | dict[str, Any], *, user: str | None = None, thread_id: str | None = None
    ) -> RunResult:
        """Run a given plan; tasks with `agent` set go to that agent, the rest to discovery."""
        checked = self._check_plan(plan)
        return self._invoke(
            {"plan": checked, "user": self._user(user)}, thread_id, len(checked.tasks)
        )

    def resume(self, thread_id: str) -> RunResult:
        """Finish an interrupted run from its last checkpoint; finished tasks do not rerun."""
        self._require_checkpointer("resume a run")
        config = self._config(thread_id, None)
        snapshot = self.graph.get_state(config)
        if not snapshot.values:
            raise InputError(f"no run with thread id {thread_id!r} to resume")
        if snapshot.next:
            plan = snapshot.values.get("plan")
            config["recursion_limit"] = steps_for(
                len(plan.tasks) if plan else self.settings.max_tasks
            )
            self.graph.invoke(None, config, durability=self._durability)
        return self._result(thread_id)

    async def astream(
        self,
        request: str | Plan,
        *,
        user: str | None = None,
        thread_id: str | None = None,
        approve: bool = False,
    ) -> AsyncIterator[Event]:
        """Progress events as the run goes, ending with a ``done`` event holding the result.

        With `approve=True` the stream stops after planning with an ``approval`` event;
        continue with `astream_resume(thread_id, decision)` or `resume_with`.
        """
        payload, size = self._payload(request, user)
        if approve:
            self._require_checkpointer("pause for approval")
            payload["review"] = True
        thread = thread_id or uuid.uuid4().hex
        async for event in self._astream(payload, thread, size):
            yield event

    async def astream_resume(self, thread_id: str, decision: PlanDecision) -> AsyncIterator[Event]:
        """Continue a run paused for approval, streaming its events."""
        async for event in self._astream(Command(resume=_decision(decision)), thread_id, None):
            yield event

    def propose(
        self, request: str | Plan, *, user: str | None = None, thread_id: str | None = None
    ) -> Proposal:
        """Plan `request` and stop for a human decision (see `resume_with`)."""
        self._require_checkpointer("pause for approval")
        payload, size = self._payload(request, user)
        thread = thread_id or uuid.uuid4().hex
        self.graph.invoke(
            {**payload, "review": True}, self._config(thread, size), durability=self._durability
        )
        values = self.graph.get_state(self._config(thread, None)).values
        return Proposal(thread_id=thread, plan=plan_of(values))

    def resume_with(self, thread_id: str, decision: PlanDecision) -> RunResult:
        """Decide on a proposed plan: "approve", "reject", or an edited `Plan`."""
        self._require_checkpointer("resume a run")
        snapshot = self.graph.get_state(self._config(thread_id, None))
        if not snapshot.interrupts:
            raise InputError(f"run {thread_id!r} is not waiting for a plan decision")
        size = len(snapshot.values.get("tasks") or {}) or None
        self.graph.invoke(
            Command(resume=_decision(decision)),
            self._config(thread_id, size),
            durability=self._durability,
        )
        return self._result(thread_id)

    def _payload(self, request: str | Plan, user: str | None) -> tuple[dict[str, Any], int | None]:
        if isinstance(request, Plan):
            checked = self._check_plan(request)
            return {"plan": checked, "user": self._user(user)}, len(checked.tasks)
        return {"request": check_request(request), "user": self._user(user)}, None

    async def _astream(self, payload: Any, thread: str, size: int | None) -> AsyncIterator[Event]:
        config = self._config(thread, size)
        values: Any = None
        async for mode, chunk in self.graph.astream(
            payload, config, stream_mode=["custom", "values"], durability=self._durability
        ):
            if mode == "values":
                values = chunk
                continue
            data = {k: _jsonable(v) for k, v in chunk.items()}  # type: ignore[union-attr]
            yield Event(
                kind=data.pop("kind"), step=data.pop("step", ""), data=data, thread_id=thread
            )
        if self._checkpointer is not None:
            snapshot = self.graph.get_state(config)
            if snapshot.interrupts:
                yield Event(
                    kind="approval",
                    step="review",
                    data={"plan": plan_of(snapshot.values).model_dump(mode="json")},
                    thread_id=thread,
                )
                return
        result = self._result(thread, values)
        yield Event(
            kind="done",
            step="end",
            data={"result": result.model_dump(mode="json")},
            thread_id=thread,
        )

    def close(self) -> None:
        self._services.close()
        self.audit.close()
        conn = getattr(self._checkpointer, "conn", None)
        if conn is not None:
            conn.close()

    def __enter__(self) -> Mesh:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def _durability(self) -> Literal["sync"] | None:
        """Checkpoint each step before the next starts (queued async writes pile up in RAM)."""
        return "sync" if self._checkpointer is not None else None

    def _require_checkpointer(self, what: str) -> None:
        if self._checkpointer is None:
            raise InputError(
                f"this mesh runs without a checkpointer (durable=False): cannot {what}"
            )

    def _user(self, user: str | None) -> str:
        if user is None:
            return self.settings.default_user
        return check_user(user)

    def _check_plan(self, plan: Plan | dict[str, Any]) -> Plan:
        checked = plan if isinstance(plan, Plan) else Plan.model_validate(plan)
        check_plan(checked.tasks, self.settings.max_tasks)
        for task in checked.tasks:
            if task.agent and task.agent not in self.registry:
                known = ", ".join(c.name for c in self.registry.list()) or "none"
                raise AgentNotFound(
                    f"task {task.id!r} pins agent {task.agent!r}, which is not registered"
                    f" (registered: {known}); register it or remove `agent` to let discovery pick"
                )
        return checked

    def _config(self, thread_id: str, plan_size: int | None) -> RunnableConfig:
        return {
            "configurable": {"thread_id": thread_id},
            "recursion_limit": steps_for(plan_size or self.settings.max_tasks),
            "max_concurrency": AGENT_THREADS,
        }

    def _invoke(
        self, payload: dict[str, Any], thread_id: str | None, size: int | None
    ) -> RunResult:
        thread = thread_id or uuid.uuid4().hex
        values = self.graph.invoke(payload, self._config(thread, size), durability=self._durability)
        return self._result(thread, values)

    def _result(self, thread_id: str, values: dict[str, Any] | None = None) -> RunResult:
        if values is None:
            self._require_checkpointer("read a run back")
            values = self.graph.get_state(self._config(thread_id, None)).values
        if "tasks" not in values:
            raise InputError(f"no run with thread id {thread_id!r}")
        plan = plan_of(values)
        results = values.get("results") or {}
        missing = [t.id for t in plan.tasks if t.id not in results]
        if missing or "answer" not in values:
            raise MeshError(
                f"run {thread_id} has not finished (tasks without a result: {missing}):"
                f" resume it with `mesh resume {thread_id}`"
            )
        usage = values.get("usage") or (self._meters.get(thread_id) if self._meters else None)
        return RunResult(
            answer=values["answer"], plan=plan, results=results, thread_id=thread_id, usage=usage
        )


PlanDecision = Literal["approve", "reject"] | Plan | dict[str, Any]


class Proposal(BaseModel):
    """A plan waiting for a human decision."""

    thread_id: str
    plan: Plan


def _decision(decision: PlanDecision) -> dict[str, Any]:
    if isinstance(decision, Plan):
        return {"action": "edit", "plan": decision.model_dump(mode="json")}
    if isinstance(decision, dict):
        return decision
    if decision in ("approve", "reject"):
        return {"action": decision}
    raise InputError(f"unknown plan decision {decision!r}: use 'approve', 'reject' or a Plan")


def _jsonable(value: Any) -> Any:
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value

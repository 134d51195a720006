"""Agents as subgraphs: any handler becomes a graph from `TaskRequest` to `TaskResult`.

A handler is a sync or async callable taking a `TaskRequest`, or a compiled LangGraph
graph whose state has a ``request`` key in and a ``result`` key out. Plain callables may
return a `TaskResult`, a string (the output) or a dict (structured data).
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict, Union

from langgraph.graph import END, START, StateGraph
from langgraph.pregel import Pregel

from mesh.errors import AgentError, TaskRejected
from mesh.models import TaskRequest, TaskResult

Reply = TaskResult | str | dict[str, Any]
Handler = Union[Callable[[TaskRequest], Reply | Awaitable[Reply]], Pregel]  # noqa: UP007


class AgentIO(TypedDict):
    request: TaskRequest
    result: NotRequired[TaskResult]


def to_result(agent: str, request: TaskRequest, reply: Any) -> TaskResult:
    """Normalise what a handler returned into this task's `TaskResult`."""
    if isinstance(reply, TaskResult):
        return reply.model_copy(
            update={"task_id": request.task_id, "agent": agent, "attempts": request.attempt}
        )
    if isinstance(reply, str):
        return TaskResult(
            task_id=request.task_id,
            status="succeeded",
            output=reply,
            agent=agent,
            attempts=request.attempt,
        )
    if isinstance(reply, dict):
        output = reply.get("output")
        return TaskResult(
            task_id=request.task_id,
            status="succeeded",
            output=str(output) if output is not None else json.dumps(reply, default=str),
            data=reply,
            agent=agent,
            attempts=request.attempt,
        )
    raise TaskRejected(  # the handler's bug: another try of it returns the same
        f"agent {agent!r} returned {type(reply).__name__}: a handler must return a TaskResult,"
        " a str or a dict"
    )


def as_subgraph(name: str, handler: Handler) -> Pregel:
    """Wrap `handler` as the agent's subgraph (a compiled graph passes through)."""
    if isinstance(handler, Pregel):
        return handler
    if not callable(handler):
        raise AgentError(
            f"handler of agent {name!r} is a {type(handler).__name__}: give a callable taking a"
            " TaskRequest, or a compiled LangGraph graph"
        )

    def act(state: AgentIO) -> dict[str, TaskResult]:
        request = state["request"]
        reply = handler(request)
        if inspect.isawaitable(reply):
            reply = asyncio.run(_await(reply))
        return {"result": to_result(name, request, reply)}

    graph = StateGraph(AgentIO)
    graph.add_node("act", act)
    graph.add_edge(START, "act")
    graph.add_edge("act", END)
    return graph.compile(name=f"agent:{name}")


async def _await(value: Awaitable[Reply]) -> Reply:
    return await value


@dataclass(frozen=True)
class AgentRunner:
    """How the worker runs one agent: `call` for dispatch, `graph` as its subgraph view.

    A plain callable runs inline (a one-node subgraph per task would only add LangGraph's
    bookkeeping); a compiled graph handler always runs as a real subgraph. Async handlers
    run on the mesh's agent loop so a timeout can cancel them.
    """

    name: str
    graph: Pregel
    call: Callable[[TaskRequest, float], TaskResult]


def make_runner(
    name: str, handler: Handler, loop: Callable[[], asyncio.AbstractEventLoop]
) -> AgentRunner:
    graph = as_subgraph(name, handler)
    if isinstance(handler, Pregel):
        return AgentRunner(name, graph, lambda req, timeout: invoke_agent(name, graph, req))
    fn = handler

    def call(request: TaskRequest, timeout: float) -> TaskResult:
        reply = fn(request)
        if inspect.isawaitable(reply):
            future = asyncio.run_coroutine_threadsafe(
                asyncio.wait_for(_await(reply), timeout), loop()
            )
            reply = future.result()
        return to_result(name, request, reply)

    return AgentRunner(name, graph, call)


def invoke_agent(name: str, graph: Pregel, request: TaskRequest) -> TaskResult:
    """Run one agent subgraph on one request; its `result` is the task's result."""
    out = graph.invoke({"request": request})
    result = out.get("result") if isinstance(out, dict) else None
    if result is None:
        raise AgentError(
            f"agent {name!r} finished without a 'result' in its state: its graph must write"
            " a TaskResult under the key 'result'"
        )
    return to_result(name, request, result)

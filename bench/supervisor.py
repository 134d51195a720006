"""A 10-handoff job on langgraph-supervisor (fake chat models) against the same job on the mesh.

The supervisor hands the work to ten agents in turn; each handoff costs a supervisor
model call and a worker model call (fakes here, so only framework cost is measured).
The mesh runs the same job as a chain of ten tasks pinned to ten agents.

    .venv/bin/pip install langgraph-supervisor   # bench-only dependency
    .venv/bin/python bench/supervisor.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langgraph.prebuilt import create_react_agent
from langgraph_supervisor import create_supervisor

from mesh import AgentCard, Mesh, Plan, Task

HANDOFFS = 10
REPEATS = 7


class ToolFake(GenericFakeChatModel):
    """A scripted fake that accepts tools, as supervisors need."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> ToolFake:
        return self


def supervisor_job() -> Any:
    script = [
        AIMessage(
            content="",
            tool_calls=[{"name": f"transfer_to_agent_{i}", "args": {}, "id": f"call{i}"}],
        )
        for i in range(HANDOFFS)
    ] + [AIMessage(content="all done")]
    workers = [
        create_react_agent(
            ToolFake(messages=iter([AIMessage(content=f"agent {i} did its part")])),
            tools=[],
            name=f"agent_{i}",
        )
        for i in range(HANDOFFS)
    ]
    return create_supervisor(workers, model=ToolFake(messages=iter(script))).compile()


def time_supervisor() -> float:
    app = supervisor_job()
    start = time.perf_counter()
    out = app.invoke({"messages": [{"role": "user", "content": "do the job"}]})
    elapsed = time.perf_counter() - start
    assert out["messages"][-1].content == "all done"
    return elapsed


def time_mesh(m: Mesh) -> float:
    plan = Plan(
        tasks=[
            Task(
                id=f"h{i}",
                description="do your part",
                agent=f"agent-{i}",
                depends_on=[f"h{i - 1}"] if i else [],
            )
            for i in range(HANDOFFS)
        ]
    )
    start = time.perf_counter()
    result = m.execute(plan)
    elapsed = time.perf_counter() - start
    assert result.ok
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        meshes = {
            "mesh": Mesh.local(Path(tmp) / "a", builtin_agents=False, durable=False),
            "mesh+SQLite": Mesh.local(Path(tmp) / "b", builtin_agents=False),
        }
        for m in meshes.values():
            for i in range(HANDOFFS):
                m.add_agent(
                    AgentCard(name=f"agent-{i}", description=f"agent {i}"),
                    lambda req, i=i: f"agent {i} did its part",
                )
        time_supervisor()
        for m in meshes.values():
            time_mesh(m)
        sup = statistics.median(time_supervisor() for _ in range(REPEATS))
        print(f"| {HANDOFFS}-handoff job | median ms | ms per handoff | × supervisor |")
        print("| --- | --- | --- | --- |")
        print(
            f"| langgraph-supervisor, fake models | {sup * 1e3:.1f} |"
            f" {sup * 1e3 / HANDOFFS:.2f} | 1.00 |"
        )
        for name, m in meshes.items():
            t = statistics.median(time_mesh(m) for _ in range(REPEATS))
            print(f"| {name} | {t * 1e3:.1f} | {t * 1e3 / HANDOFFS:.2f} | {t / sup:.2f} |")
            m.close()


if __name__ == "__main__":
    main()

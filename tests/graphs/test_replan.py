"""Replanning: tasks that fail for good go back to the planner, finished work is kept."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mesh import AgentCard, Mesh, TaskRequest
from mesh.models import Plan, Task
from mesh.settings import Settings


def _fake_openai() -> Any:
    path = Path(__file__).parents[1] / "mesh" / "fake_openai.py"
    spec = importlib.util.spec_from_file_location("fake_openai", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("fake_openai", module)
    spec.loader.exec_module(module)
    return module


fake = _fake_openai()


@pytest.fixture
def server() -> Iterator[Any]:
    srv = fake.FakeOpenAI().start()
    yield srv
    srv.stop()


FIRST = {
    "tasks": [
        {"id": "a", "description": "convert the file", "agent": "broken"},
        {"id": "b", "description": "check the totals", "agent": "steady"},
        {"id": "c", "description": "mail the result", "agent": "steady", "depends_on": ["a"]},
    ],
    "rationale": "first try",
}
REVISED = {
    "tasks": [
        {"id": "b", "description": "check the totals", "agent": "steady"},
        {"id": "a2", "description": "convert the file another way", "agent": "steady"},
        {"id": "c", "description": "mail the result", "agent": "steady", "depends_on": ["a2"]},
    ],
    "rationale": "route around the broken converter",
}


def test_failed_work_is_replanned_and_finished_work_is_not_redone(server: Any, home: Path) -> None:
    settings = Settings(
        openai_base_url=server.base_url,
        openai_api_key="dummy",
        llm_model="fake",
        retry_backoff=0.0,
        max_replans=1,
    )
    runs: list[str] = []

    def steady(req: TaskRequest) -> str:
        runs.append(req.task_id)
        return f"{req.task_id} done"

    def broken(req: TaskRequest) -> str:
        raise RuntimeError("converter crashed")

    server.push(fake.Step(plan=FIRST), fake.Step(plan=REVISED))
    with Mesh.local(home, settings=settings, builtin_agents=False) as m:
        m.add_agent(AgentCard(name="steady", description="does the work"), steady)
        m.add_agent(AgentCard(name="broken", description="always crashes"), broken)

        async def stream() -> list[Any]:
            return [e async for e in m.astream("convert, check and mail")]

        events = asyncio.run(stream())
    result = events[-1].data["result"]
    assert set(result["results"]) == {"a2", "b", "c"}
    assert all(r["status"] == "succeeded" for r in result["results"].values())
    assert sorted(runs) == ["a2", "b", "c"], "b ran once: its result was kept"
    (replanned,) = [e for e in events if e.kind == "replanned"]
    assert "a2" in replanned.data["summary"]
    assert result["usage"]["calls_by_purpose"].get("replan") == 1


def test_without_a_model_an_unrevisable_plan_ends_with_the_failure(bare_mesh: Mesh) -> None:
    bare_mesh.add_agent(
        AgentCard(name="broken", description="always crashes"),
        lambda r: (_ for _ in ()).throw(RuntimeError("no")),
    )

    async def stream() -> list[Any]:
        plan = Plan(tasks=[Task(id="a", description="do it", agent="broken")])
        return [e async for e in bare_mesh.astream(plan)]

    events = asyncio.run(stream())
    (failed,) = [e for e in events if e.kind == "replan_failed"]
    assert "cannot revise" in failed.data["reason"]
    assert events[-1].data["result"]["results"]["a"]["status"] == "failed"

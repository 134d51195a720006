"""The Mesh facade end to end on real parts: planning, discovery, policy, dispatch."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from mesh import (
    AgentCard,
    AgentNotFound,
    InputError,
    Mesh,
    PlanError,
    Skill,
    Task,
    TaskRequest,
)
from mesh.models import Plan


def test_arithmetic_request_is_answered_by_the_calculator_found_by_search(mesh: Mesh) -> None:
    result = mesh.run("What is 17 * 23?")
    assert "391" in result.answer
    (task,) = result.plan.tasks
    assert task.agent is None, "the offline planner must not pin agents by name"
    assert result.results[task.id].status == "succeeded"
    assert result.results[task.id].agent == "calculator"
    assert result.results[task.id].data["value"] == 391
    decisions = mesh.audit.records(run_id=result.thread_id, action="dispatch")
    assert [(d.principal, d.obj, d.decision) for d in decisions] == [
        ("local", "agent:calculator", "allow")
    ]


def test_two_part_request_runs_two_tasks_on_two_agents(mesh: Mesh) -> None:
    result = mesh.run("Compute 2**10 and count the words in 'the quick brown fox jumps'")
    assert len(result.plan.tasks) == 2
    agents = {r.agent for r in result.results.values()}
    assert agents == {"calculator", "text"}
    assert all(r.status == "succeeded" for r in result.results.values())
    assert "1024" in result.answer
    assert "5 words" in result.answer


def test_knowledge_question_is_answered_from_local_documents(mesh: Mesh) -> None:
    result = mesh.run("How many planets are in the solar system?")
    (only,) = result.results.values()
    assert only.agent == "knowledge"
    assert "eight" in result.answer.lower() or "8" in result.answer


@pytest.mark.parametrize("request_text", ["", "   ", "\n\t "])
def test_empty_request_is_refused_before_anything_is_written(
    mesh: Mesh, home: Path, request_text: str
) -> None:
    before = _checkpoint_rows(home)
    audited = mesh.audit.records()  # the built-in agents' registrations
    with pytest.raises(InputError, match="empty"):
        mesh.run(request_text)
    assert _checkpoint_rows(home) == before
    assert mesh.audit.records() == audited


def test_unknown_pinned_agent_is_refused_before_anything_runs(mesh: Mesh, home: Path) -> None:
    calls: list[str] = []
    mesh.add_agent(
        AgentCard(name="spy", description="records calls"),
        lambda req: calls.append(req.task_id) or "ok",
    )
    plan = Plan(
        tasks=[
            Task(id="a", description="first", agent="spy"),
            Task(id="b", description="second", agent="nobody", depends_on=["a"]),
        ]
    )
    before = _checkpoint_rows(home)
    with pytest.raises(AgentNotFound, match="'nobody'"):
        mesh.execute(plan)
    assert calls == []
    assert _checkpoint_rows(home) == before


def test_plan_problems_are_plan_errors_naming_the_problem() -> None:
    with pytest.raises(PlanError, match="no tasks"):
        Plan(tasks=[])
    with pytest.raises(PlanError, match="cycle a -> b -> a"):
        Plan(
            tasks=[
                Task(id="a", description="x", depends_on=["b"]),
                Task(id="b", description="y", depends_on=["a"]),
            ]
        )
    with pytest.raises(PlanError, match="unknown task"):
        Plan(tasks=[Task(id="a", description="x", depends_on=["zzz"])])
    with pytest.raises(PlanError, match="repeats task ids"):
        Plan(tasks=[Task(id="a", description="x"), Task(id="a", description="y")])


def test_plan_over_the_size_limit_is_refused(bare_mesh: Mesh) -> None:
    tasks = [Task(id=f"t{i}", description="noop") for i in range(bare_mesh.settings.max_tasks + 1)]
    with pytest.raises(PlanError, match="over the limit"):
        bare_mesh.execute(Plan(tasks=tasks))


def test_execute_runs_a_given_plan_in_dependency_order_with_upstream_results(
    bare_mesh: Mesh,
) -> None:
    seen: dict[str, dict[str, str]] = {}

    def record(req: TaskRequest) -> str:
        seen[req.task_id] = {k: v.output for k, v in req.upstream.items()}
        return f"out-{req.task_id}"

    bare_mesh.add_agent(AgentCard(name="rec", description="records its inputs"), record)
    plan = Plan(
        tasks=[
            Task(id="c", description="join", agent="rec", depends_on=["a", "b"]),
            Task(id="a", description="left", agent="rec"),
            Task(id="b", description="right", agent="rec"),
        ]
    )
    result = bare_mesh.execute(plan)
    assert result.ok
    assert seen["c"] == {"a": "out-a", "b": "out-b"}
    assert seen["a"] == {} and seen["b"] == {}


def test_failed_task_skips_its_dependants_and_independent_work_finishes(bare_mesh: Mesh) -> None:
    def boom(req: TaskRequest) -> str:
        raise ValueError("bad input")

    bare_mesh.add_agent(AgentCard(name="boom", description="always fails"), boom)
    bare_mesh.add_agent(AgentCard(name="ok", description="always works"), lambda r: "fine")
    plan = Plan(
        tasks=[
            Task(id="a", description="fails", agent="boom"),
            Task(id="b", description="after a", agent="ok", depends_on=["a"]),
            Task(id="c", description="after b", agent="ok", depends_on=["b"]),
            Task(id="d", description="independent", agent="ok"),
        ]
    )
    result = bare_mesh.execute(plan)
    status = {k: r.status for k, r in result.results.items()}
    assert status == {"a": "failed", "b": "skipped", "c": "skipped", "d": "succeeded"}
    assert "ValueError: bad input" in (result.results["a"].error or "")
    assert result.results["a"].attempts == 1  # a ValueError is not retried
    assert "'a'" in (result.results["b"].error or "")


def test_denied_user_gets_a_denied_task_and_an_audit_record(mesh: Mesh) -> None:
    result = mesh.run("What is 6 * 7?", user="mallory")
    (only,) = result.results.values()
    assert only.status == "failed"
    assert "policy denied 'mallory'" in (only.error or "")
    decisions = mesh.audit.records(principal="mallory")
    assert decisions and all(d.decision == "deny" for d in decisions)
    assert decisions[0].obj == "agent:calculator", "the best candidate is gated first"
    mesh.policy.allow("mallory", "agent:calculator", "dispatch")
    assert "42" in mesh.run("What is 6 * 7?", user="mallory").answer


def test_add_agent_with_a_bad_handler_registers_nothing(bare_mesh: Mesh) -> None:
    with pytest.raises(Exception, match="callable"):
        bare_mesh.add_agent(AgentCard(name="broken", description="x"), "not a handler")  # type: ignore[arg-type]
    assert "broken" not in bare_mesh.registry
    assert bare_mesh.agents == []


def test_astream_yields_each_step_before_the_answer(mesh: Mesh) -> None:
    async def collect() -> list[tuple[str, str]]:
        return [(e.kind, e.step) async for e in mesh.astream("What is 17 * 23?")]

    events = asyncio.run(collect())
    steps = [step for kind, step in events if kind == "step"]
    assert steps[:3] == ["plan", "discover", "dispatch"]
    assert "dispatch" in steps and steps[-1] == "synthesize"
    kinds = [kind for kind, _ in events]
    assert kinds.index("task_finished") < kinds.index("answer") < kinds.index("done")


def test_graph_invoke_works_directly_for_notebooks(mesh: Mesh) -> None:
    out = mesh.graph.invoke(
        {"request": "What is 12 + 30?"}, {"configurable": {"thread_id": "nb-1"}}
    )
    assert "42" in out["answer"]


def test_reopening_the_home_keeps_agents_and_runs(home: Path) -> None:
    with Mesh.local(home, builtin_agents=False) as m:
        m.add_agent(
            AgentCard(
                name="weather",
                description="Forecasts for any city",
                skills=[Skill(name="forecast", description="weather forecast for a city")],
            ),
            lambda r: "sunny",
        )
        thread = m.run("will it rain in Paris tomorrow").thread_id
    with Mesh.local(home, builtin_agents=False) as again:
        assert again.registry.get("weather").description == "Forecasts for any city"
        assert again.resume(thread).answer.startswith("sunny")


def _checkpoint_rows(home: Path) -> int:
    db = home / "checkpoints.sqlite"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0])

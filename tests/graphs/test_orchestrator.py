"""Failure handling in the orchestrator: retries, timeouts, reassignment, async agents."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from mesh import AgentCard, Mesh, Skill, TaskRequest
from mesh.models import Plan, Task
from mesh.settings import Settings


@pytest.fixture
def fast(home) -> Mesh:  # type: ignore[no-untyped-def]
    settings = Settings(task_timeout=0.5, retry_backoff=0.01, max_attempts=2)
    m = Mesh.local(home, settings=settings, builtin_agents=False)
    yield m
    m.close()


def _card(name: str, what: str) -> AgentCard:
    return AgentCard(
        name=name,
        description=what,
        skills=[Skill(name="work", description=what, examples=[what])],
    )


def test_flaky_agent_is_recovered_by_retry(fast: Mesh) -> None:
    calls: list[int] = []

    def flaky(req: TaskRequest) -> str:
        calls.append(req.attempt)
        if len(calls) == 1:
            raise ConnectionError("transient")
        return "done"

    fast.add_agent(_card("flaky", "convert temperatures"), flaky)
    result = fast.execute(Plan(tasks=[Task(id="a", description="go", agent="flaky")]))
    assert result.results["a"].status == "succeeded"
    assert result.results["a"].attempts == 2
    assert calls == [1, 2]


def test_broken_agent_is_replaced_by_the_next_candidate(fast: Mesh) -> None:
    fast.add_agent(
        _card("celsius", "convert temperatures between celsius and fahrenheit"),
        lambda r: (_ for _ in ()).throw(RuntimeError("disk on fire")),
    )
    fast.add_agent(
        _card("thermo", "temperature unit conversion, fahrenheit to celsius"), lambda r: "37 C"
    )
    result = fast.run("convert 98.6 fahrenheit to celsius")
    (only,) = result.results.values()
    assert only.status == "succeeded"
    assert only.agent == "thermo"
    assert only.attempts == 3  # two on the broken agent, one on its replacement


def test_a_failed_task_says_each_error_once_with_its_count(fast: Mesh) -> None:
    def broken(req: TaskRequest) -> str:
        raise RuntimeError("disk on fire" if req.attempt == 1 else "still on fire")

    fast.add_agent(_card("thermo", "temperature conversion"), broken)
    result = fast.execute(Plan(tasks=[Task(id="a", description="go", agent="thermo")]))
    assert result.results["a"].error == (
        "agent 'thermo' raised RuntimeError: disk on fire;"
        " agent 'thermo' raised RuntimeError: still on fire"
    )
    fast.add_agent(_card("boiler", "boil"), lambda r: (_ for _ in ()).throw(ValueError("cold")))
    again = fast.execute(Plan(tasks=[Task(id="b", description="go", agent="boiler")]))
    assert again.results["b"].error == "agent 'boiler' raised ValueError: cold (2 attempts)"
    assert again.results["b"].attempts == 2


def test_a_hanging_agent_times_out_and_counts_as_a_failure(fast: Mesh) -> None:
    release = threading.Event()

    def hang(req: TaskRequest) -> str:
        release.wait(5)
        return "too late"

    fast.add_agent(_card("sloth", "very slow agent"), hang)
    started = time.monotonic()
    result = fast.execute(Plan(tasks=[Task(id="a", description="wait", agent="sloth")]))
    release.set()
    assert result.results["a"].status == "failed"
    assert "timed out after 0.5s" in (result.results["a"].error or "")
    assert time.monotonic() - started < 4


def test_async_handlers_and_parallel_tasks_run(fast: Mesh) -> None:
    active = 0
    peak = 0
    lock = threading.Lock()

    async def nap(req: TaskRequest) -> str:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        await asyncio.sleep(0.1)
        with lock:
            active -= 1
        return req.task_id

    fast.add_agent(_card("napper", "sleeps briefly"), nap)
    plan = Plan(tasks=[Task(id=f"t{i}", description="nap", agent="napper") for i in range(4)])
    result = fast.execute(plan)
    assert result.ok
    assert {r.output for r in result.results.values()} == {"t0", "t1", "t2", "t3"}
    assert peak > 1, "independent tasks of one wave must run concurrently"


def test_outcomes_are_fed_back_to_discovery(fast: Mesh) -> None:
    fast.add_agent(_card("adder", "adds numbers together"), lambda r: "3")
    fast.run("add 1 and 2 together")
    outcomes = fast.registry._outcomes.get(include=["metadatas", "documents"])
    assert outcomes["documents"] == ["add 1 and 2 together"]
    assert outcomes["metadatas"][0]["agent"] == "adder"
    assert outcomes["metadatas"][0]["success"] is True


def test_a_long_chain_runs_in_order_with_each_result_passed_on(fast: Mesh) -> None:
    """One-task waves send their successor themselves; order and inputs must hold."""
    seen: list[tuple[str, list[str]]] = []

    def step(req: TaskRequest) -> str:
        seen.append((req.task_id, [r.output for r in req.upstream.values()]))
        return f"after {req.task_id}"

    fast.add_agent(_card("stepper", "one step of a chain"), step)
    ids = [f"s{i}" for i in range(30)]
    plan = Plan(
        tasks=[
            Task(id=t, description="step", agent="stepper", depends_on=[ids[i - 1]] if i else [])
            for i, t in enumerate(ids)
        ]
    )
    result = fast.execute(plan)
    assert result.ok and len(result.results) == 30
    assert [t for t, _ in seen] == ids
    assert all(up == [f"after {ids[i - 1]}"] for i, (_, up) in enumerate(seen) if i)

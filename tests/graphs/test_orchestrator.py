"""Failure handling in the orchestrator: retries, timeouts, reassignment, async agents."""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from mesh import AgentCard, Mesh, Skill, TaskRejected, TaskRequest, TaskResult
from mesh.errors import (
    AgentError,
    AgentUnavailable,
    InputError,
    InvalidInput,
    ModelError,
    PolicyDenied,
)
from mesh.graphs import worker
from mesh.models import Plan, Task
from mesh.retry import retryable, transient
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
    assert only.attempts == 2  # a bug is not retried: one on each


def test_invalid_input_ends_the_task_and_does_not_demote_the_agent(fast: Mesh) -> None:
    """A typo in the user's JSON was offered to every other candidate, whose refusals
    buried the reason, and ranked the right agent lower for the next, valid, ask."""
    tried: list[str] = []

    def strict(req: TaskRequest) -> str:
        tried.append("strict")
        raise InvalidInput("the data is not valid JSON: Expecting ',' delimiter")

    def loose(req: TaskRequest) -> str:
        tried.append("loose")
        return "done anyway"

    fast.add_agent(_card("strict", "convert JSON records to CSV"), strict)
    fast.add_agent(_card("loose", "convert JSON data to CSV files"), loose)
    ask = 'convert this JSON to CSV: [{"a": 1}, {"a": 2'
    assert [m.card.name for m in fast.registry.search(ask, k=2)] == ["strict", "loose"]
    before = {e["agent"]: e["score"] for e in fast.registry.explain(ask, k=2)}
    (only,) = fast.run(ask).results.values()
    assert (only.status, only.agent, set(tried)) == ("failed", "strict", {"strict"})
    assert only.error == "agent 'strict': the data is not valid JSON: Expecting ',' delimiter"
    assert {e["agent"]: e["score"] for e in fast.registry.explain(ask, k=2)} == before


def test_a_failed_task_says_each_error_once_with_its_count(fast: Mesh) -> None:
    def broken(req: TaskRequest) -> str:
        raise ConnectionError("disk on fire" if req.attempt == 1 else "still on fire")

    fast.add_agent(_card("thermo", "temperature conversion"), broken)
    result = fast.execute(Plan(tasks=[Task(id="a", description="go", agent="thermo")]))
    assert result.results["a"].error == (
        "agent 'thermo' raised ConnectionError: disk on fire;"
        " agent 'thermo' raised ConnectionError: still on fire"
    )
    fast.add_agent(
        _card("boiler", "boil"), lambda r: (_ for _ in ()).throw(ConnectionError("cold"))
    )
    again = fast.execute(Plan(tasks=[Task(id="b", description="go", agent="boiler")]))
    assert again.results["b"].error == "agent 'boiler' raised ConnectionError: cold (2 attempts)"
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


# -- what is retried: only what another try could fix -------------------------------


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every backoff the worker takes, in order (recorded, not slept)."""
    slept: list[float] = []
    monkeypatch.setattr(worker, "time", SimpleNamespace(sleep=slept.append))
    return slept


def _with_a_replacement(fast: Mesh, first: Any) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """Run a task whose best candidate is `first`, with a working one ranked next:
    the (kind, agent) of its attempt events, and its result."""
    fast.add_agent(_card("celsius", "convert temperatures between celsius and fahrenheit"), first)
    fast.add_agent(
        _card("thermo", "temperature unit conversion, fahrenheit to celsius"), lambda r: "37 C"
    )

    events = _events(fast, "convert 98.6 fahrenheit to celsius")
    steps = [
        (e.kind, e.data["agent"])
        for e in events
        if e.kind in ("task_started", "retry", "reassigned")
    ]
    (result,) = events[-1].data["result"]["results"].values()
    return steps, result


@pytest.mark.parametrize(
    ("error", "calls"),
    [
        (TaskRejected("found no temperature in the task: give one such as '98.6 F'"), [1]),
        (RuntimeError("disk on fire"), [1]),  # a bug: another try fails the same way
        (ConnectionError("the line dropped"), [1, 2]),  # may pass: retried, with backoff
    ],
)
def test_a_failure_is_retried_only_when_another_try_could_pass(
    fast: Mesh, sleeps: list[float], error: Exception, calls: list[int]
) -> None:
    seen: list[int] = []

    def broken(req: TaskRequest) -> str:
        seen.append(req.attempt)
        raise error

    steps, result = _with_a_replacement(fast, broken)
    retried = len(calls) > 1
    assert seen == calls
    assert sleeps == ([fast.settings.retry_backoff] if retried else []), "no wait for a refusal"
    again = [("retry", "celsius"), ("task_started", "celsius")] if retried else []
    assert steps == [
        ("task_started", "celsius"),
        *again,
        ("reassigned", "thermo"),
        ("task_started", "thermo"),
    ]
    assert (result["status"], result["agent"]) == ("succeeded", "thermo")
    assert result["attempts"] == len(calls) + 1


def test_a_failure_that_is_not_retried_is_still_the_tasks_reason(
    fast: Mesh, sleeps: list[float]
) -> None:
    calls: list[str] = []

    def bad_value(req: TaskRequest) -> str:
        calls.append(req.task_id)
        raise ValueError("cold is not a temperature")

    def rejecting(req: TaskRequest) -> str:
        calls.append(req.task_id)
        raise TaskRejected("no temperature in 'go': give one such as '98.6 F'")

    fast.add_agent(_card("boiler", "boil"), bad_value)
    fast.add_agent(_card("kettle", "heat"), rejecting)
    plan = Plan(
        tasks=[
            Task(id="a", description="go", agent="boiler"),
            Task(id="b", description="go", agent="kettle"),
        ]
    )

    events = _events(fast, plan)
    results = events[-1].data["result"]["results"]
    assert sorted(calls) == ["a", "b"]
    assert [e for e in events if e.kind == "retry"] == [] and sleeps == []
    assert results["a"]["error"] == "agent 'boiler' raised ValueError: cold is not a temperature"
    assert results["b"]["error"] == (
        "agent 'kettle': no temperature in 'go': give one such as '98.6 F'"
    )
    assert results["a"]["attempts"] == results["b"]["attempts"] == 1


def test_a_failure_the_agent_reports_is_retried_like_a_raised_one(
    fast: Mesh, sleeps: list[float]
) -> None:
    def busy_once(req: TaskRequest) -> TaskResult:
        if req.attempt == 1:
            return TaskResult(task_id=req.task_id, status="failed", error="busy, try later")
        return TaskResult(task_id=req.task_id, status="succeeded", output="done")

    fast.add_agent(_card("queue", "a busy service"), busy_once)

    events = _events(fast, Plan(tasks=[Task(id="a", description="go", agent="queue")]))
    (retry,) = [e for e in events if e.kind == "retry"]
    assert retry.data["error"] == "busy, try later"
    assert sleeps == [fast.settings.retry_backoff]
    assert events[-1].data["result"]["results"]["a"]["attempts"] == 2


def _events(mesh: Mesh, ask: str | Plan) -> list[Any]:
    """Every event of one streamed run, the last one holding the result."""

    async def stream() -> list[Any]:
        return [e async for e in mesh.astream(ask)]

    return asyncio.run(stream())


def _http_error(status: int) -> httpx.HTTPStatusError:
    request = httpx.Request("GET", "https://agent.example/a2a")
    response = httpx.Response(status, request=request)
    return httpx.HTTPStatusError(f"{status}", request=request, response=response)


@pytest.mark.parametrize(
    ("error", "again"),
    [
        (AgentError("remote agent at http://x/a2a: no answer in time"), True),
        (ModelError("the model kept failing"), True),
        (ConnectionRefusedError("refused"), True),
        (TimeoutError(), True),
        (httpx.ConnectError("refused"), True),
        (httpx.ReadTimeout("slow"), True),
        (_http_error(503), True),
        (_http_error(429), True),
        (Exception("an exception of no known kind"), True),
        (TaskRejected("found no arithmetic expression in 'tell me a joke'"), False),
        (InputError("bad card"), False),
        (PolicyDenied("denied"), False),
        (ValueError("bad"), False),
        (TypeError("bad"), False),
        (ZeroDivisionError(), False),
        (KeyError("x"), False),
        (RuntimeError("bug"), False),
        (NotImplementedError(), False),
        (FileNotFoundError("data.csv"), False),
        (_http_error(404), False),
        (_http_error(401), False),
        (httpx.UnsupportedProtocol("ftp"), False),
    ],
)
def test_only_what_another_try_could_fix_is_retried(error: BaseException, again: bool) -> None:
    assert retryable(error) is again


@pytest.mark.parametrize(
    ("failure", "taught"),
    [
        (ConnectionError("connection refused"), False),
        (AgentUnavailable("the gauge network is down"), False),
        (httpx.ConnectTimeout("timed out"), False),
        (ValueError("bad reading"), True),
    ],
)
def test_discovery_learns_what_an_agent_got_wrong_not_that_it_was_down(
    fast: Mesh, failure: Exception, taught: bool
) -> None:
    def gauge(req: TaskRequest) -> str:
        raise failure

    ask = "rainfall readings for Lyon"
    fast.add_agent(_card("gauge", "rainfall readings for a city"), gauge)
    result = fast.run(ask)
    (only,) = result.results.values()
    assert only.status == "failed" and only.agent == "gauge"
    (seen,) = fast.registry.explain(ask, k=1)
    assert (seen["evidence"]["failure"] > 0) is taught
    assert transient(failure) is not taught


def test_a_refusal_teaches_discovery_only_when_another_agent_does_the_task(fast: Mesh) -> None:
    """A refusal shows a misfit once someone else fits; when all refuse, nobody was at fault."""

    def refuse(req: TaskRequest) -> str:
        raise TaskRejected("no gauge in that place: name a city")

    def almanac(req: TaskRequest) -> str:
        if "Atlantis" in req.description:
            raise TaskRejected("Atlantis is in no almanac: name a real city")
        return "4 mm"

    fast.add_agent(_card("gauge", "rainfall readings for a city"), refuse)
    fast.add_agent(_card("almanac", "rainfall readings and climate for a city"), almanac)
    nobody = "rainfall readings for Atlantis"
    failed = fast.run(nobody).results["t1"]
    assert failed.status == "failed" and failed.attempts == 2
    assert all(e["evidence"]["failure"] == 0 for e in fast.registry.explain(nobody, k=2))

    somebody = "rainfall readings for Lyon"
    done = fast.run(somebody).results["t1"]
    assert (done.status, done.agent) == ("succeeded", "almanac")
    seen = {e["agent"]: e["evidence"] for e in fast.registry.explain(somebody, k=2)}
    assert seen["gauge"]["failure"] > 0 and seen["almanac"]["success"] > 0


def test_a_handler_returning_something_else_fails_its_task_saying_what_to_return(
    fast: Mesh,
) -> None:
    fast.add_agent(_card("counter", "count things"), lambda req: 42)
    result = fast.execute(Plan(tasks=[Task(id="a", description="count", agent="counter")]))
    assert result.results["a"].status == "failed"
    assert "agent 'counter' returned int: a handler must return a TaskResult, a str or a dict" in (
        result.results["a"].error or ""
    )
    assert result.results["a"].attempts == 1  # a bug in the handler is not retried

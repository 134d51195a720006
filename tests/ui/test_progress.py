"""RunView: the chat's picture of a run, folded from the mesh's progress events."""

from __future__ import annotations

import asyncio
from typing import Any

from mesh import AgentCard, Mesh, Skill
from mesh.models import Event, TaskRequest
from mesh.settings import Settings
from mesh.ui.progress import RunView


def ev(kind: str, **data: Any) -> Event:
    return Event(kind=kind, step="x", data=data, thread_id="th")


PLAN = {
    "tasks": [
        {"id": "a", "description": "fetch", "depends_on": []},
        {"id": "b", "description": "analyse", "depends_on": ["a"]},
    ]
}


def test_states_follow_retries_reassignment_and_results() -> None:
    view = RunView()
    view.apply(ev("plan", plan=PLAN))
    assert [t.state for t in view.tasks.values()] == ["waiting", "waiting"]
    view.apply(
        ev("discovered", task_id="a", candidates=[{"agent": "x", "score": 0.9}], reason=None)
    )
    view.apply(ev("task_started", task_id="a", agent="x", attempt=1))
    assert view.tasks["a"].state == "running"
    view.apply(ev("retry", task_id="a", agent="x", error="boom"))
    assert view.tasks["a"].state == "retrying"
    view.apply(ev("reassigned", task_id="a", agent="y", after="boom"))
    view.apply(ev("task_started", task_id="a", agent="y", attempt=3))
    result = {"task_id": "a", "status": "succeeded", "output": "ok", "agent": "y", "attempts": 3}
    view.apply(ev("task_finished", result=result))
    a = view.tasks["a"]
    assert (a.state, a.agent, a.attempts) == ("succeeded", "y", 3)
    assert view.table()[0][3] == "✅ succeeded · attempt 3"
    assert any("reassigned to **y** after: boom" in line for line in view.log)
    assert view.summary().startswith("1/2 tasks done (1 succeeded")


def test_denial_at_discovery_is_shown_as_denied() -> None:
    view = RunView()
    view.apply(ev("plan", plan=PLAN))
    reason = "policy denied 'mallory' dispatch to 'calc', 'units', and no agent it may engage fits"
    view.apply(ev("discovered", task_id="a", candidates=[], reason=reason))
    failed = {"task_id": "a", "status": "failed", "error": reason, "attempts": 0}
    view.apply(ev("task_finished", result=failed))
    assert view.tasks["a"].state == "denied" and view.tasks["a"].denied == ["calc", "units"]
    assert "policy denied **mallory** → calc, units" in view.log[-2]
    assert "Denied by policy**: you may not engage calc, units" in view.answer_markdown()


def test_denial_at_dispatch_then_failure_elsewhere_is_a_failure() -> None:
    view = RunView()
    view.apply(ev("plan", plan=PLAN))
    view.apply(ev("policy_denied", task_id="a", agent="x", user="bob"))
    assert view.tasks["a"].state == "denied"
    error = "policy denied 'bob' dispatch to agent 'x'; agent 'y' raised ValueError: bad"
    view.apply(ev("task_finished", result={"task_id": "a", "status": "failed", "error": error}))
    assert view.tasks["a"].state == "failed"


def test_messages_approval_and_unknown_kinds_are_logged() -> None:
    view = RunView()
    view.apply(ev("approval", plan=PLAN))
    assert view.approval == PLAN and list(view.tasks) == ["a", "b"]
    envelope = {"kind": "request", "sender": "a1", "recipient": "a2", "payload": {"text": "hi"}}
    view.apply(ev("message", envelope=envelope))
    view.apply(ev("approved"))
    view.apply(ev("brand_new_kind", detail="`tick`"))
    assert view.approval is None
    assert view.messages == [envelope]
    assert '✉ request **a1** → a2: `{"text": "hi"}`' in view.log
    assert view.log[-1] == '• brand_new_kind: `{"detail": "ʼtickʼ"}`'


TIDES = AgentCard(
    name="tides",
    description="High tide times for harbours",
    skills=[Skill(name="tide", description="when is high tide", examples=["high tide"])],
)


def view_of_a_run(mesh: Mesh, request: str) -> RunView:
    """The view the chat would build from a real run's events."""
    view = RunView()

    async def follow() -> None:
        async for event in mesh.astream(request):
            view.apply(event)

    asyncio.run(follow())
    return view


def test_a_real_run_with_a_flaky_agent(home: Any) -> None:
    calls: list[int] = []

    def flaky(req: TaskRequest) -> str:
        calls.append(req.attempt)
        if len(calls) == 1:
            raise ConnectionError("first call fails")
        return "tides computed"

    settings = Settings(retry_backoff=0.0)
    with Mesh.local(home, settings=settings, builtin_agents=False) as mesh:
        mesh.add_agent(TIDES, flaky)
        view = view_of_a_run(mesh, "when is high tide in Brest")
    (task,) = view.tasks.values()
    assert (task.state, task.agent, task.attempts) == ("succeeded", "tides", 2)
    assert view.finished and view.answer and "tides computed" in view.answer
    assert any(line.startswith("↻") and "first call fails" in line for line in view.log)


def test_messages_agents_publish_show_in_the_log(home: Any) -> None:
    def tides(req: TaskRequest) -> str:
        req.publish("tides.updates", {"harbour": "Brest", "high": "06:12"})
        return "high tide 06:12"

    with Mesh.local(home, builtin_agents=False) as mesh:
        mesh.add_agent(TIDES, tides)
        view = view_of_a_run(mesh, "when is high tide in Brest")
    assert [m["topic"] for m in view.messages] == ["tides.updates"]
    assert (
        '✉ publish **tides** → tides.updates: `{"harbour": "Brest", "high": "06:12"}`' in view.log
    )

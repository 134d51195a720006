"""Agents talking over the in-graph channel: requests by capability, publishes, gates."""

from __future__ import annotations

import pytest

from mesh import AgentCard, AgentError, Mesh, Skill, TaskRequest
from mesh.models import Plan, Task

REQUEST = "write a report on my budget: rent 1200, food 450, transport 130"


def test_report_agent_gets_its_figures_from_the_calculator(mesh: Mesh) -> None:
    result = mesh.run(REQUEST)
    (only,) = result.results.values()
    assert only.agent == "report" and only.status == "succeeded"
    assert only.data["total"] == 1780
    assert only.data["shares"] == {"rent": 67.42, "food": 25.28, "transport": 7.3}
    audit = mesh.audit.records(run_id=result.thread_id)
    asked = [(r.principal, r.obj, r.action) for r in audit if r.action == "request"]
    assert asked and set(asked) == {("agent:report", "agent:calculator", "request")}
    # delegation narrows: each delivery also passed the user's own dispatch gate
    dispatched = [r.obj for r in audit if r.action == "dispatch" and r.task_id.startswith("t1#")]
    assert dispatched and set(dispatched) == {"agent:calculator"}
    published = [r for r in audit if r.action == "publish"]
    assert [(r.principal, r.obj, r.decision) for r in published] == [
        ("agent:report", "topic:reports", "allow")
    ]


def test_a_denied_request_reaches_the_asking_agent_as_a_failure(mesh: Mesh) -> None:
    mesh.policy.deny("agent:report", "agent:calculator", "request")
    result = mesh.run(REQUEST)
    (only,) = result.results.values()
    assert only.status == "failed"
    assert "policy denied agent 'report' a request to 'calculator'" in (only.error or "")
    denials = mesh.audit.records(run_id=result.thread_id, decision="deny")
    assert {r.principal for r in denials} == {"agent:report"}
    assert not [
        r
        for r in mesh.audit.records(run_id=result.thread_id)
        if r.task_id == "t1#0" and r.action == "dispatch"
    ], "the calculator must never be dispatched"


def test_a_user_cannot_reach_through_an_agent_what_they_may_not_dispatch(mesh: Mesh) -> None:
    mesh.policy.allow("bob", "agent:report", "dispatch")
    result = mesh.run(REQUEST, user="bob")
    (only,) = result.results.values()
    assert only.status == "failed"
    assert "policy denied 'bob' dispatch to agent 'calculator'" in (only.error or "")


def test_each_request_is_answered_once_and_side_effects_happen_once(bare_mesh: Mesh) -> None:
    served: list[str] = []

    def counter(req: TaskRequest) -> str:
        served.append(req.description)
        return f"counted {req.description}"

    def asker(req: TaskRequest) -> str:
        first = req.request("alpha", agent="counter")
        second = req.request("beta", agent="counter")
        return f"{first.output} / {second.output}"

    bare_mesh.add_agent(AgentCard(name="counter", description="counts"), counter)
    bare_mesh.add_agent(AgentCard(name="asker", description="asks"), asker)
    result = bare_mesh.execute(Plan(tasks=[Task(id="a", description="go", agent="asker")]))
    assert result.results["a"].output == "counted alpha / counted beta"
    assert served == ["alpha", "beta"]


def test_request_needs_exactly_one_target(bare_mesh: Mesh) -> None:
    def confused(req: TaskRequest) -> str:
        req.request("x", agent="a", capability="b")
        return "unreachable"

    bare_mesh.add_agent(AgentCard(name="confused", description="bad asker"), confused)
    result = bare_mesh.execute(Plan(tasks=[Task(id="a", description="go", agent="confused")]))
    assert "exactly one of agent= or capability=" in (result.results["a"].error or "")


def test_publish_outside_a_run_is_a_clear_error() -> None:
    req = TaskRequest(task_id="x", description="y")
    with pytest.raises(AgentError, match="not attached to a running mesh"):
        req.publish("t", {})


def test_request_by_capability_finds_the_agent_by_meaning(bare_mesh: Mesh) -> None:
    bare_mesh.add_agent(
        AgentCard(
            name="translator",
            description="Translates English text into French",
            skills=[Skill(name="translate", description="translate english to french")],
        ),
        lambda req: "bonjour",
    )

    def greeter(req: TaskRequest) -> str:
        return req.request("hello", capability="translate this into French").output

    bare_mesh.add_agent(AgentCard(name="greeter", description="greets"), greeter)
    result = bare_mesh.execute(Plan(tasks=[Task(id="g", description="greet", agent="greeter")]))
    assert result.results["g"].output == "bonjour"


@pytest.mark.parametrize("topic", ["all users", "news\n", "a,b", ""])
def test_a_publish_needs_a_topic_a_policy_line_can_name(bare_mesh: Mesh, topic: str) -> None:
    def loud(req: TaskRequest) -> str:
        req.publish(topic, {"text": "hello"})
        return "unreachable"

    bare_mesh.add_agent(AgentCard(name="loud", description="shouts"), loud)
    result = bare_mesh.execute(Plan(tasks=[Task(id="a", description="go", agent="loud")]))
    error = result.results["a"].error or ""
    assert f"publish: topic {topic!r} is not a topic name" in error
    assert bare_mesh.audit.records(run_id=result.thread_id, action="publish") == []

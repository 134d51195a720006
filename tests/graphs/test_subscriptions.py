"""Publish/subscribe: a publish reaches every subscriber as a task of the run, gated once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mesh import AgentCard, InputError, Mesh, TaskRequest
from mesh.models import Event, Plan, RunResult, Task, topic_matches
from mesh.settings import Settings
from mesh.ui.progress import RunView

NEWS = {"headline": "rates cut", "by": 0.25}
ONE = Plan(tasks=[Task(id="a", description="announce the news", agent="alpha")])


def _card(name: str, *topics: str) -> AgentCard:
    return AgentCard(name=name, description=f"the {name} agent", subscribes=list(topics))


def _publisher(topic: str = "news", payload: dict[str, Any] = NEWS) -> Callable[..., str]:
    def alpha(req: TaskRequest) -> str:
        req.publish(topic, payload)
        return "announced"

    return alpha


def _listener(seen: list[TaskRequest]) -> Callable[..., str]:
    def listen(req: TaskRequest) -> str:
        seen.append(req)
        return f"noted {req.inputs.get('headline')}"

    return listen


def _stream(mesh: Mesh, plan: Plan, user: str | None = None) -> tuple[RunResult, list[Event]]:
    async def follow() -> list[Event]:
        return [e async for e in mesh.astream(plan, user=user)]

    events = asyncio.run(follow())
    return RunResult.model_validate(events[-1].data["result"]), events


def _kinds(events: list[Event], kind: str) -> list[dict[str, Any]]:
    return [e.data for e in events if e.kind == kind]


def test_a_subscriber_gets_the_payload_as_a_task_after_the_publisher(bare_mesh: Mesh) -> None:
    seen: list[TaskRequest] = []
    bare_mesh.add_agent(_card("alpha"), _publisher())
    bare_mesh.add_agent(_card("beta", "news"), _listener(seen))
    result, events = _stream(bare_mesh, ONE)

    assert result.ok and set(result.results) == {"a", "a@0>beta"}
    delivery = result.results["a@0>beta"]
    assert (delivery.agent, delivery.output) == ("beta", "noted rates cut")
    task = result.plan.task("a@0>beta")
    assert (task.agent, task.depends_on) == ("beta", ["a"])
    assert task.description == "message on news from alpha"
    (req,) = seen
    assert req.inputs == NEWS
    (envelope,) = req.inbox.values()
    assert (envelope.kind, envelope.topic, envelope.sender, envelope.payload) == (
        "publish",
        "news",
        "alpha",
        NEWS,
    )
    assert req.upstream["a"].output == "announced", "the publisher's result comes along"
    audit = bare_mesh.audit.records(run_id=result.thread_id, task_id="a@0>beta")
    assert [(r.principal, r.action, r.obj, r.decision) for r in audit[:2]] == [
        ("agent:beta", "subscribe", "topic:news", "allow"),
        ("local", "deliver", "agent:beta", "allow"),
    ]
    (delivered,) = _kinds(events, "message_delivered")
    assert (delivered["task_id"], delivered["agent"], delivered["hops"]) == ("a@0>beta", "beta", 1)
    (grown,) = _kinds(events, "plan_grown")
    assert grown["added"] == ["a@0>beta"] and [t["id"] for t in grown["tasks"]] == ["a@0>beta"]
    assert grown["tasks"][0]["depends_on"] == ["a"] and grown["tasks"][0]["agent"] == "beta"
    view = RunView()
    for event in events:
        view.apply(event)
    assert view.tasks["a@0>beta"].state == "succeeded", "the UI's DAG shows the delivery"


def test_every_subscriber_gets_it_but_not_the_sender_nor_others(bare_mesh: Mesh) -> None:
    seen: dict[str, list[TaskRequest]] = {"beta": [], "gamma": [], "delta": []}
    bare_mesh.add_agent(_card("alpha", "news"), _publisher())  # hears its own topic
    bare_mesh.add_agent(_card("beta", "news"), _listener(seen["beta"]))
    bare_mesh.add_agent(_card("gamma", "weather", "news"), _listener(seen["gamma"]))
    bare_mesh.add_agent(_card("delta", "weather"), _listener(seen["delta"]))
    result, _ = _stream(bare_mesh, ONE)

    assert result.ok and set(result.results) == {"a", "a@0>beta", "a@0>gamma"}
    assert [r.inputs for r in seen["beta"]] == [NEWS]
    assert [r.inputs for r in seen["gamma"]] == [NEWS]
    assert seen["delta"] == []


@pytest.mark.parametrize(
    ("pattern", "hears", "misses"),
    [
        ("orders.*", ["orders.new", "orders.eu"], ["orders", "orders.eu.new", "stock.new"]),
        ("orders.#", ["orders", "orders.new", "orders.eu.new"], ["order", "stock.orders"]),
        ("#.new", ["new", "orders.new", "orders.eu.new"], ["orders.new.x", "renew"]),
        ("a.#.z", ["a.z", "a.b.z", "a.b.c.z"], ["a.b.c", "b.z"]),
        ("*.*", ["a.b"], ["a", "a.b.c"]),
        ("#", ["news", "a.b.c"], []),
        ("news", ["news"], ["news.eu", "newsy"]),
    ],
)
def test_a_subscription_pattern_hears_its_topics(
    pattern: str, hears: list[str], misses: list[str]
) -> None:
    assert _card("beta", pattern).subscribes == [pattern]
    assert [t for t in hears + misses if topic_matches(pattern, t)] == hears


def test_pattern_subscribers_get_the_message_once_each(bare_mesh: Mesh) -> None:
    seen: dict[str, list[TaskRequest]] = {n: [] for n in ("b", "c", "d", "e", "f")}
    bare_mesh.add_agent(_card("alpha", "#"), _publisher("orders.eu.new"))
    bare_mesh.add_agent(_card("b", "orders.*"), _listener(seen["b"]))
    bare_mesh.add_agent(_card("c", "orders.#"), _listener(seen["c"]))
    bare_mesh.add_agent(_card("d", "#.new", "orders.eu.new", "orders.#"), _listener(seen["d"]))
    bare_mesh.add_agent(_card("e", "*.eu.*"), _listener(seen["e"]))
    bare_mesh.add_agent(_card("f", "orders"), _listener(seen["f"]))
    result, events = _stream(bare_mesh, ONE)

    assert result.ok
    assert set(result.results) == {"a", "a@0>c", "a@0>d", "a@0>e"}
    assert [len(seen[n]) for n in "bcdef"] == [0, 1, 1, 1, 0]
    delivered = _kinds(events, "message_delivered")
    assert sorted((d["agent"], d["topic"]) for d in delivered) == [
        ("c", "orders.eu.new"),
        ("d", "orders.eu.new"),
        ("e", "orders.eu.new"),
    ]


def test_a_policy_pattern_line_governs_pattern_subscribers(bare_mesh: Mesh) -> None:
    seen: list[TaskRequest] = []
    bare_mesh.add_agent(_card("alpha"), _publisher("orders.new"))
    bare_mesh.add_agent(_card("beta", "orders.*"), _listener(seen))
    bare_mesh.policy.deny("agent:beta", "topic:orders.*", "subscribe")
    result, events = _stream(bare_mesh, ONE)

    assert result.ok and list(result.results) == ["a"] and seen == []
    (refused,) = _kinds(events, "message_undelivered")
    assert (refused["agent"], refused["topic"]) == ("beta", "orders.new")
    assert "denied by 'p, agent:beta, topic:orders.*, subscribe, deny'" in refused["reason"]


def test_a_publish_to_a_pattern_is_refused(bare_mesh: Mesh) -> None:
    seen: list[TaskRequest] = []
    bare_mesh.add_agent(_card("alpha"), _publisher("orders.*"))
    bare_mesh.add_agent(_card("beta", "orders.*"), _listener(seen))
    result, _ = _stream(bare_mesh, ONE)
    assert not result.ok and seen == []
    assert "topic 'orders.*' is not a topic name" in str(result.results["a"].error)


def test_a_publish_without_subscribers_runs_as_before(bare_mesh: Mesh) -> None:
    bare_mesh.add_agent(_card("alpha"), _publisher())
    bare_mesh.add_agent(_card("beta", "weather"), _listener([]))
    result, events = _stream(bare_mesh, ONE)
    assert result.ok and list(result.results) == ["a"]
    assert [m["envelope"]["topic"] for m in _kinds(events, "message")] == ["news"]
    assert not _kinds(events, "message_delivered") and not _kinds(events, "message_undelivered")
    assert len(_kinds(events, "plan")) == 1 and not _kinds(events, "plan_grown")


def test_a_subscriber_the_policy_denies_gets_nothing_and_says_why(bare_mesh: Mesh) -> None:
    seen: dict[str, list[TaskRequest]] = {"beta": [], "gamma": []}
    bare_mesh.add_agent(_card("alpha"), _publisher())
    bare_mesh.add_agent(_card("beta", "news"), _listener(seen["beta"]))
    bare_mesh.add_agent(_card("gamma", "news"), _listener(seen["gamma"]))
    bare_mesh.policy.deny("agent:gamma", "topic:news", "subscribe")
    result, events = _stream(bare_mesh, ONE)

    assert result.ok, "a refused delivery does not fail the publisher's run"
    assert result.results["a"].status == "succeeded"
    assert set(result.results) == {"a", "a@0>beta"} and seen["gamma"] == []
    (refused,) = _kinds(events, "message_undelivered")
    assert (refused["agent"], refused["topic"], refused["task_id"]) == ("gamma", "news", "a")
    assert "denied by 'p, agent:gamma, topic:news, subscribe, deny'" in refused["reason"]
    (denial,) = bare_mesh.audit.records(run_id=result.thread_id, decision="deny")
    assert (denial.principal, denial.action, denial.obj) == (
        "agent:gamma",
        "subscribe",
        "topic:news",
    )
    assert denial.task_id == "a@0>gamma"


def test_a_user_cannot_reach_through_a_topic_what_they_may_not_dispatch(bare_mesh: Mesh) -> None:
    seen: list[TaskRequest] = []
    bare_mesh.add_agent(_card("alpha"), _publisher())
    bare_mesh.add_agent(_card("vault", "news"), _listener(seen))
    bare_mesh.policy.allow("bob", "agent:alpha", "dispatch")
    result, events = _stream(bare_mesh, ONE, user="bob")

    assert result.ok and list(result.results) == ["a"] and seen == []
    (refused,) = _kinds(events, "message_undelivered")
    assert "policy denied 'bob' dispatch to agent 'vault'" in refused["reason"]
    (denial,) = bare_mesh.audit.records(run_id=result.thread_id, decision="deny")
    assert (denial.principal, denial.action, denial.obj) == ("bob", "deliver", "agent:vault")


def test_an_offline_subscriber_is_skipped_with_the_reason(bare_mesh: Mesh) -> None:
    seen: list[TaskRequest] = []
    bare_mesh.add_agent(_card("alpha"), _publisher())
    bare_mesh.add_agent(_card("beta", "news"), _listener(seen))
    bare_mesh.registry.heartbeat("beta", "draining")
    result, events = _stream(bare_mesh, ONE)
    assert result.ok and list(result.results) == ["a"] and seen == []
    (refused,) = _kinds(events, "message_undelivered")
    assert "agent 'beta' is draining" in refused["reason"]


def test_a_publish_subscribe_loop_stops_at_the_hop_limit(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MESH_MAX_MESSAGE_HOPS", "3")
    runs: list[str] = []

    def bounce(topic: str) -> Callable[..., str]:
        def handler(req: TaskRequest) -> str:
            runs.append(req.task_id)
            req.publish(topic, {"count": int(req.inputs.get("count", 0)) + 1})
            return f"bounced {req.inputs.get('count', 0)}"

        return handler

    with Mesh.local(home, builtin_agents=False) as m:
        m.add_agent(_card("ping", "pong"), bounce("ping"))
        m.add_agent(_card("pong", "ping"), bounce("pong"))
        plan = Plan(tasks=[Task(id="start", description="serve", agent="ping")])
        result, events = _stream(m, plan)
        denials = m.audit.records(run_id=result.thread_id, decision="deny")

    assert result.ok and len(runs) == 4, "the start and three deliveries, then no more"
    assert [e["hops"] for e in _kinds(events, "message_delivered")] == [1, 2, 3]
    assert sorted(r.agent or "" for r in result.results.values()) == [
        "ping",
        "ping",
        "pong",
        "pong",
    ]
    grown = _kinds(events, "plan_grown")
    assert [len(g["tasks"]) for g in grown] == [1, 1, 1], "each delivery is announced once"
    assert len(_kinds(events, "plan")) == 1, "the whole plan is not streamed again"
    view = RunView()
    for event in events:
        view.apply(event)
    assert sorted(view.tasks) == sorted(result.results), "the UI's DAG has every delivery"
    (refused,) = _kinds(events, "message_undelivered")
    assert refused["agent"] == "ping"
    assert "over MESH_MAX_MESSAGE_HOPS=3" in refused["reason"]
    (denial,) = denials
    assert (denial.principal, denial.action, denial.decision) == ("agent:ping", "deliver", "deny")


def test_deliveries_stop_at_the_task_limit(home: Path) -> None:
    with Mesh.local(home, settings=Settings(max_tasks=2), builtin_agents=False) as m:
        m.add_agent(_card("alpha"), _publisher())
        m.add_agent(_card("beta", "news"), _listener([]))
        m.add_agent(_card("gamma", "news"), _listener([]))
        result, events = _stream(m, ONE)
    assert set(result.results) == {"a", "a@0>beta"}
    (refused,) = _kinds(events, "message_undelivered")
    assert refused["agent"] == "gamma" and "MESH_MAX_TASKS=2" in refused["reason"]


def test_a_publisher_that_waits_for_replies_is_delivered_once(bare_mesh: Mesh) -> None:
    seen: list[TaskRequest] = []
    ran: list[str] = []

    def alpha(req: TaskRequest) -> str:
        ran.append(req.task_id)
        req.publish("news", NEWS)  # published again when the task runs with its answer
        answer = req.request("what time is it", agent="clock")
        return f"announced at {answer.output}"

    bare_mesh.add_agent(_card("alpha"), alpha)
    bare_mesh.add_agent(_card("clock"), lambda req: "noon")
    bare_mesh.add_agent(_card("beta", "news"), _listener(seen))
    result, _ = _stream(bare_mesh, ONE)
    assert ran == ["a", "a"], "the publisher ran twice: asking, then with its answer"
    assert result.ok and set(result.results) == {"a", "a@0>beta"}
    assert len(seen) == 1 and seen[0].upstream["a"].output == "announced at noon"


def test_what_an_agent_answering_a_request_publishes_is_delivered(bare_mesh: Mesh) -> None:
    seen: list[TaskRequest] = []

    def asker(req: TaskRequest) -> str:
        return req.request("look it up", agent="clerk").output

    def clerk(req: TaskRequest) -> str:
        req.publish("news", NEWS)
        return "filed"

    bare_mesh.add_agent(_card("alpha"), asker)
    bare_mesh.add_agent(_card("clerk"), clerk)
    bare_mesh.add_agent(_card("beta", "news"), _listener(seen))
    result, _ = _stream(bare_mesh, ONE)
    assert result.ok and set(result.results) == {"a", "a#0@0>beta"}
    assert result.plan.task("a#0@0>beta").depends_on == ["a"]
    assert [r.inputs for r in seen] == [NEWS]


def test_a_bad_subscribes_field_is_refused_and_nothing_registered(bare_mesh: Mesh) -> None:
    for topics, expected in [
        (["news", "news"], "list each topic once; repeated: ['news']"),
        ([""], "topic '' is not a topic name"),
        (["two words"], "topic 'two words' is not a topic name"),
        (["a,b"], "topic 'a,b' is not a topic name"),
        ("news", "subscribes: Input should be a valid list (give a JSON list)"),
        (["ord*rs"], "topic 'ord*rs' is not a topic pattern: separate words with '.'"),
        (["orders.*x"], "'*' for exactly one word and '#' for any number, each as a whole word"),
        (["#a"], "topic '#a' is not a topic pattern"),
        (["orders.*", "orders.*"], "list each topic once; repeated: ['orders.*']"),
    ]:
        card = {"name": "beta", "description": "listens", "subscribes": topics}
        with pytest.raises(InputError, match="invalid agent card: subscribes") as err:
            bare_mesh.add_agent(card, _listener([]))
        assert expected in str(err.value)
        assert "beta" not in bare_mesh.registry and bare_mesh.agents == []
    with pytest.raises(ValueError, match="use 1-128 letters, digits"):
        _card("beta", " ")


def test_subscriptions_survive_a_restart(home: Path) -> None:
    with Mesh.local(home, builtin_agents=False) as m:
        m.registry.register({"name": "beta", "description": "listens", "subscribes": [" news "]})
    with Mesh.local(home, builtin_agents=False) as m:
        assert m.registry.get("beta").subscribes == ["news"]


CRASHER = textwrap.dedent(
    """
    import json, sys, time
    from mesh import AgentCard, Mesh
    from mesh.models import Plan, Task

    home, effects = sys.argv[1], sys.argv[2]

    def note(name, event):
        with open(effects, "a") as f:
            f.write(json.dumps({"agent": name, "event": event}) + "\\n")

    def alpha(req):
        note("alpha", "end")
        req.publish("news", {"headline": "rates cut"})
        return "announced"

    def fast(req):
        note("fast", "end")
        return "noted"

    def slow(req):
        note("slow", "start")
        time.sleep(60)
        return "too late"

    m = Mesh.local(home, builtin_agents=False)
    for name, topics, handler in [("alpha", [], alpha), ("fast", ["news"], fast),
                                  ("slow", ["news"], slow)]:
        m.add_agent(AgentCard(name=name, description=name, subscribes=topics), handler)
    m.execute(Plan(tasks=[Task(id="a", description="announce", agent="alpha")]),
              thread_id="crash-pubsub")
    """
)


def _effects(path: Path) -> list[tuple[str, str]]:
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    return [(e["agent"], e["event"]) for e in map(json.loads, lines) if e]


def test_a_run_killed_mid_delivery_resumes_without_delivering_twice(tmp_path: Path) -> None:
    home, effects = tmp_path / "home", tmp_path / "effects.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASHER, str(home), str(effects)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not {("fast", "end"), ("slow", "start")} <= set(
        _effects(effects)
    ):
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.02)
    time.sleep(0.5)  # the fast subscriber's result is written as it finishes
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert sorted(_effects(effects)) == [("alpha", "end"), ("fast", "end"), ("slow", "start")]

    got: dict[str, tuple[dict[str, Any], list[str]]] = {}

    def note(name: str) -> Callable[..., str]:
        def handler(req: TaskRequest) -> str:
            got[name] = (req.inputs, [e.topic for e in req.inbox.values()])
            with effects.open("a") as f:
                f.write(json.dumps({"agent": name, "event": "end"}) + "\n")
            return f"{name} done"

        return handler

    with Mesh.local(home, builtin_agents=False) as m:
        for name, topics in [("alpha", []), ("fast", ["news"]), ("slow", ["news"])]:
            m.add_agent(_card(name, *topics), note(name))
        result = m.resume("crash-pubsub")

    ends = [agent for agent, event in _effects(effects) if event == "end"]
    assert sorted(ends) == ["alpha", "fast", "slow"], "each ran to the end exactly once"
    assert result.ok and set(result.results) == {"a", "a@0>fast", "a@0>slow"}
    assert got == {"slow": ({"headline": "rates cut"}, ["news"])}, "its message came back"

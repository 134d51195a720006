"""The LLM planner's logic with LangChain's fake chat models: checks, repairs, replans,
budgets, the capability catalogue, and the synthesiser."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from pydantic import Field

from mesh import AgentCard, ConfigError, Mesh, PlanError, Skill
from mesh.errors import BudgetExceeded
from mesh.genai import (
    OfflinePlanner,
    TemplateSynthesizer,
    make_planner,
    make_synthesizer,
    plan_change,
)
from mesh.llm import LLMSynthesizer
from mesh.llm_planner import LLMPlanner
from mesh.models import Plan, Task, TaskResult
from mesh.settings import Settings
from mesh.usage import Budget, UsageMeter


class ScriptedModel(GenericFakeChatModel):
    """A fake chat model that records what it was sent and 'binds' tools to itself."""

    seen: list[list[BaseMessage]] = Field(default_factory=list)

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        self.seen.append(list(messages))
        return super()._generate(messages, *args, **kwargs)


def reply(plan: dict[str, Any] | str, tokens: int = 15) -> AIMessage:
    usage = {"input_tokens": tokens - 5, "output_tokens": 5, "total_tokens": tokens}
    if isinstance(plan, str):
        return AIMessage(content=plan, usage_metadata=usage)  # type: ignore[arg-type]
    call = {"name": "Plan", "args": plan, "id": "call-1"}
    return AIMessage(content="", tool_calls=[call], usage_metadata=usage)  # type: ignore[arg-type]


def task(tid: str, text: str, deps: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"id": tid, "description": text, "capability": text, "depends_on": deps or [], **extra}


def planner(*replies: AIMessage | str, **settings: Any) -> tuple[LLMPlanner, ScriptedModel]:
    model = ScriptedModel(messages=iter(replies))
    return LLMPlanner(model, None, Settings(**settings)), model


def last_prompt(model: ScriptedModel) -> str:
    return str(model.seen[-1][-1].content)


def test_a_valid_plan_is_returned_as_is_in_one_call() -> None:
    plan = {"tasks": [task("a", "compute 2+2"), task("b", "count words", ["a"])]}
    llm, model = planner(reply(plan))
    meter = UsageMeter()
    got = llm.plan("Compute 2+2 and count the words of the answer", meter=meter)
    assert [(t.id, t.depends_on) for t in got.tasks] == [("a", []), ("b", ["a"])]
    assert len(model.seen) == 1
    assert meter.usage.calls == 1 and meter.usage.total_tokens == 15


def test_a_cyclic_plan_goes_back_to_the_model_with_the_cycle_named() -> None:
    cyclic = {"tasks": [task("a", "x", ["b"]), task("b", "y", ["a"])]}
    fixed = {"tasks": [task("a", "x"), task("b", "y", ["a"])]}
    llm, model = planner(reply(cyclic), reply(fixed))
    got = llm.plan("do x then y")
    assert got.task("b").depends_on == ["a"]
    assert len(model.seen) == 2
    repair = last_prompt(model)
    assert "rejected" in repair and "cycle" in repair and "a -> b -> a" in repair


@pytest.mark.parametrize(
    ("bad", "named"),
    [
        ({"tasks": []}, "no tasks"),
        ({"tasks": [task("a", "x", ["zz"])]}, "unknown task"),
        ({"tasks": [task("a", "x"), task("a", "y")]}, "repeats task ids"),
        ({"tasks": [{"id": "a"}]}, "tasks.0.description: Field required"),
        ({"steps": ["x"]}, "tasks: Field required"),
        ({"tasks": [task("a", "x", priority=1)]}, "priority: Extra inputs"),
        ("not json at all", "not valid JSON"),
        ("[1, 2]", "not the object asked for"),
        ("", "empty"),
    ],
)
def test_each_kind_of_bad_plan_is_explained_to_the_model(
    bad: dict[str, Any] | str, named: str
) -> None:
    llm, model = planner(reply(bad), reply({"tasks": [task("a", "x")]}))
    assert [t.id for t in llm.plan("x").tasks] == ["a"]
    assert named in last_prompt(model)


def test_repairs_are_bounded_then_a_plan_error_names_the_last_problem() -> None:
    llm, model = planner(
        reply("{oops"), reply({"tasks": []}), reply({"tasks": []}), llm_max_repairs=1
    )
    with pytest.raises(PlanError, match=r"in 2 tries.*no tasks.*MESH_LLM_MAX_REPAIRS"):
        llm.plan("x")
    assert len(model.seen) == 2


def test_plan_size_limit_and_unknown_pinned_agents_are_plan_checks(bare_mesh: Mesh) -> None:
    big = {"tasks": [task(f"t{i}", f"step {i}") for i in range(3)]}
    llm, model = planner(reply(big), reply({"tasks": [task("t1", "x")]}), max_tasks=2)
    assert len(llm.plan("x").tasks) == 1
    assert "over the limit of 2" in last_prompt(model)

    model = ScriptedModel(
        messages=iter([reply({"tasks": [task("t1", "x", agent="ghost")]}), reply(big)])
    )
    llm = LLMPlanner(model, bare_mesh.registry, Settings())
    llm.plan("x")
    assert "pins agent 'ghost', which is not in the catalogue" in last_prompt(model)


def test_the_catalogue_lists_the_agents_that_match_not_the_whole_registry(
    bare_mesh: Mesh,
) -> None:
    cards = [
        AgentCard(
            name="weather",
            description="Weather forecasts for any city",
            skills=[
                Skill(
                    name="forecast",
                    description="rain, wind and temperature forecast for a city",
                    examples=["will it rain in Paris tomorrow"],
                )
            ],
        ),
        AgentCard(
            name="translator",
            description="Translates text between languages",
            skills=[Skill(name="translate", description="translate a sentence into French")],
        ),
    ]
    cards += [
        AgentCard(name=f"ledger-{i}", description=f"Posts invoices to accounting ledger {i}")
        for i in range(10)
    ]
    bare_mesh.registry.register_many(cards)
    model = ScriptedModel(messages=iter([reply({"tasks": [task("t1", "forecast Paris")]})]))
    llm = LLMPlanner(model, bare_mesh.registry, Settings(llm_catalogue_size=3))
    llm.plan("Will it rain in Paris tomorrow? Then translate the forecast into French.")
    prompt = str(model.seen[0][1].content)
    assert "agent weather" in prompt and "skill forecast" in prompt
    assert "agent translator" in prompt and "skill translate" in prompt
    assert prompt.count("- agent ") <= 3
    assert "ledger" not in prompt


def test_the_catalogue_shows_a_user_only_the_agents_they_may_engage(bare_mesh: Mesh) -> None:
    bare_mesh.registry.register_many(
        [
            AgentCard(name="payroll", description="Runs payroll and shows every salary"),
            AgentCard(name="salary-bands", description="Public salary bands for each role"),
        ]
    )
    bare_mesh.policy.allow("bob", "agent:salary-bands", "dispatch")
    pinned = {"tasks": [task("t1", "salaries", agent="payroll")]}
    fixed = {"tasks": [task("t1", "salaries")]}
    model = ScriptedModel(messages=iter([reply(pinned), reply(fixed), reply(fixed)]))
    llm = LLMPlanner(
        model, bare_mesh.registry, Settings(), may_engage=bare_mesh.policy.may_dispatch
    )

    assert llm.plan("show the salary of every employee", "bob").tasks[0].agent is None
    bob_saw = str(model.seen[0][1].content)
    assert "agent salary-bands" in bob_saw and "payroll" not in bob_saw.split("Catalogue")[1]
    assert "pins agent 'payroll', which is not in the catalogue" in last_prompt(model)

    llm.plan("show the salary of every employee", "local")
    assert "agent payroll" in str(model.seen[-1][1].content)


def test_without_usage_figures_a_call_still_counts() -> None:
    call = {"name": "Plan", "args": {"tasks": [task("a", "x")]}, "id": "c"}
    bare = AIMessage(content="", tool_calls=[call])  # type: ignore[list-item]
    llm, _ = planner(bare)
    meter = UsageMeter()
    llm.plan("x", meter=meter)
    assert meter.usage.calls == 1
    assert meter.usage.unmetered_calls == 1 and meter.usage.total_tokens == 0


def test_the_call_budget_stops_repairs_with_a_clear_reason() -> None:
    llm, model = planner(reply("{bad"), reply("{bad"), reply({"tasks": [task("a", "x")]}))
    meter = UsageMeter(Budget(max_calls=2))
    with pytest.raises(BudgetExceeded, match=r"2 model calls.*MESH_LLM_MAX_CALLS"):
        llm.plan("x", meter=meter)
    assert len(model.seen) == 2
    assert meter.usage.calls == 2 and meter.usage.stopped is not None


def test_the_token_budget_refuses_the_next_call() -> None:
    llm, model = planner(reply("{bad", tokens=600), reply({"tasks": [task("a", "x")]}))
    meter = UsageMeter(Budget(max_tokens=500))
    with pytest.raises(BudgetExceeded, match=r"600 model tokens.*500 \(MESH_LLM_MAX_TOKENS\)"):
        llm.plan("x", meter=meter)
    assert len(model.seen) == 1


def _half_done() -> tuple[Plan, dict[str, TaskResult]]:
    plan = Plan(
        tasks=[
            Task(id="a", description="compute 2+2", capability="arithmetic"),
            Task(id="b", description="forecast Paris", capability="weather", depends_on=["a"]),
            Task(id="c", description="count words", depends_on=["b"]),
        ]
    )
    results = {
        "a": TaskResult(task_id="a", status="succeeded", output="4", agent="calculator"),
        "b": TaskResult(task_id="b", status="failed", error="no agent matches 'weather'"),
        "c": TaskResult(task_id="c", status="skipped", error="skipped because 'b' failed"),
    }
    return plan, results


def test_replan_gets_the_failure_and_keeps_succeeded_work() -> None:
    plan, results = _half_done()
    a = plan.task("a").model_dump()
    changed_a = {**a, "description": "compute 2+3"}
    repeat_b = plan.task("b").model_dump()
    good = {
        "tasks": [
            a,
            task("b2", "look up the forecast for Paris", ["a"]),
            task("c", "count words", ["b2"]),
        ]
    }
    llm, model = planner(
        reply({"tasks": [changed_a, task("b2", "y", ["a"])]}),
        reply({"tasks": [a, repeat_b]}),
        reply(good),
    )
    revised = llm.replan("2+2 then forecast", plan, results, "task 'b' failed: no agent")
    first = str(model.seen[0][1].content)
    assert "task 'b' failed: no agent" in first and '"status": "succeeded"' in first
    assert "'a' already succeeded" in str(model.seen[1][-1].content)
    assert "repeats failed task 'b' unchanged" in last_prompt(model)
    change = plan_change(plan, revised)
    assert change.kept == ["a"] and change.added == ["b2"] and change.removed == ["b"]
    assert change.changed == ["c"]
    assert "added b2" in change.summary and "removed b" in change.summary


def test_replan_with_nothing_left_to_do_is_refused() -> None:
    plan, results = _half_done()
    done = {k: r.model_copy(update={"status": "succeeded"}) for k, r in results.items()}
    llm, model = planner()
    with pytest.raises(PlanError, match="every task of the plan succeeded"):
        llm.replan("x", plan, done)
    assert model.seen == []


def test_offline_replan_splits_a_failed_compound_task_or_says_it_cannot() -> None:
    plan = Plan(
        tasks=[
            Task(id="a", description="Compute 2**10 and count the words in 'a b c'"),
            Task(id="b", description="summarize it", depends_on=["a"]),
        ]
    )
    results = {"a": TaskResult(task_id="a", status="failed", error="calculator: no expression")}
    revised = OfflinePlanner().replan("", plan, results, "a failed")
    assert [(t.id, t.depends_on) for t in revised.tasks] == [
        ("a.1", []),
        ("a.2", []),
        ("b", ["a.2"]),
    ]
    single = Plan(tasks=[Task(id="a", description="What is 2+2?", capability="What is 2+2?")])
    with pytest.raises(PlanError, match="offline planner cannot revise"):
        OfflinePlanner().replan("", single, {"a": results["a"]})
    # asides dropped from the words: searching by all of them again would hide the failure
    trimmed = Plan(
        tasks=[Task(id="a", description="What is 2/0, since we have 0?", capability="What is 2/0")]
    )
    with pytest.raises(PlanError, match="offline planner cannot revise"):
        OfflinePlanner().replan("", trimmed, {"a": results["a"]})
    renamed = Plan(
        tasks=[Task(id="a", description="when was it born?", capability="when was X born")]
    )
    assert OfflinePlanner().replan("", renamed, {"a": results["a"]}).tasks[0].id == "a.r"


def test_the_model_writes_the_answer_with_provenance() -> None:
    plan, results = _half_done()
    model = ScriptedModel(messages=iter(["The calculator found 4; the forecast failed."]))
    answer = LLMSynthesizer(model, TemplateSynthesizer()).synthesize("q", plan, results)
    assert answer.startswith("The calculator found 4")
    assert "Sources: a by calculator; b failed; c skipped" in answer
    sent = str(model.seen[0][-1].content)
    assert '"output": "4"' in sent and "no agent matches 'weather'" in sent


def test_when_the_budget_is_spent_the_answer_says_so_and_gives_the_results() -> None:
    plan, results = _half_done()
    model = ScriptedModel(messages=iter(["never sent"]))
    meter = UsageMeter(Budget(max_calls=1), {"calls": 1})
    answer = LLMSynthesizer(model, TemplateSynthesizer()).synthesize(
        "q", plan, results, meter=meter
    )
    assert answer.startswith("(The model did not write this answer: the run has made 1 model")
    assert "compute 2+2: 4 (by calculator)" in answer
    assert model.seen == []


def test_factories_pick_the_model_only_when_configured() -> None:
    offline = Settings(openai_api_key=None, openai_base_url=None)
    assert isinstance(make_planner(offline), OfflinePlanner)
    assert isinstance(make_synthesizer(offline), TemplateSynthesizer)
    local = Settings(openai_base_url="http://127.0.0.1:9/v1", openai_api_key=None)
    assert isinstance(make_planner(local), LLMPlanner)
    assert isinstance(make_synthesizer(local), LLMSynthesizer)
    forced = local.model_copy(update={"planner": "offline"})
    assert isinstance(make_planner(forced), OfflinePlanner)
    with pytest.raises(ConfigError, match="MESH_PLANNER=llm but no model is configured"):
        make_planner(offline.model_copy(update={"planner": "llm"}))

"""Usage per run: figures from the model, budgets, and meters shared within a run."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage

from mesh.errors import BudgetExceeded
from mesh.settings import Settings
from mesh.usage import Budget, RunMeters, Usage, UsageMeter, estimate_tokens


def answer(total: int) -> AIMessage:
    figures = {"input_tokens": total - 1, "output_tokens": 1, "total_tokens": total}
    return AIMessage(content="ok", usage_metadata=figures)  # type: ignore[arg-type]


def test_figures_add_up_by_purpose_and_missing_figures_are_counted() -> None:
    meter = UsageMeter()
    meter.record(answer(10), "plan")
    meter.record(answer(7), "synthesize")
    meter.record(AIMessage(content="no usage"), "synthesize")
    used = meter.usage
    assert (used.calls, used.input_tokens, used.output_tokens, used.total_tokens) == (3, 15, 2, 17)
    assert used.calls_by_purpose == {"plan": 1, "synthesize": 2}
    assert used.unmetered_calls == 1


def test_a_resumed_run_goes_on_from_its_stored_usage() -> None:
    stored = Usage(calls=2, total_tokens=90).model_dump()
    meter = UsageMeter(Budget(max_calls=3), stored)
    meter.check("plan")
    meter.record(answer(5), "plan")
    with pytest.raises(BudgetExceeded, match="3 model calls, its budget of 3"):
        meter.check("synthesize")
    assert meter.usage.stopped and "synthesize call was not made" in meter.usage.stopped


def test_usage_must_be_well_formed() -> None:
    with pytest.raises(ValueError, match="calls"):
        UsageMeter(usage={"calls": "many"})


def test_budget_comes_from_the_settings() -> None:
    budget = Budget.from_settings(Settings(llm_max_calls=4, llm_max_tokens=1000))
    assert (budget.max_calls, budget.max_tokens) == (4, 1000)
    with pytest.raises(ValueError):
        Settings(llm_max_calls=0)


def test_runs_get_their_own_meter_and_old_runs_are_forgotten() -> None:
    meters = RunMeters(Budget(max_calls=1), keep=2)
    meters.for_run("a").record(answer(3), "plan")
    assert meters.for_run("a") is meters.for_run("a")
    assert meters.for_run("b").usage.calls == 0
    meters.for_run("c")
    assert meters.get("a") is None and meters.get("c") is not None
    assert meters.current() is not meters.current(), "outside a graph every call is its own"


def test_the_reply_allowance_is_what_the_budget_leaves_after_the_prompt() -> None:
    meter = UsageMeter(Budget(max_tokens=1000), Usage(calls=1, total_tokens=600))
    assert meter.output_allowance("plan", 150) == 250
    with pytest.raises(BudgetExceeded, match="about 400 tokens"):
        meter.output_allowance("replan", 400)
    assert meter.usage.stopped and "replan" in meter.usage.stopped
    assert UsageMeter().output_allowance("plan", 10**6) is None, "no token budget, no cap"
    assert estimate_tokens(["x" * 300]) >= 300 / 4, "errs on the high side of ~4 chars a token"

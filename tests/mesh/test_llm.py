"""The real `ChatOpenAI` path, end to end, against an OpenAI-protocol server on loopback:
JSON-schema and tool-calling output, usage figures, malformed and wrong-shaped plans,
timeouts, 429 and 500 with retry, and the `mesh` command a user runs."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from mesh import Mesh, PlanError
from mesh.errors import BudgetExceeded, ModelError
from mesh.llm import make_chat_model
from mesh.llm_planner import LLMPlanner
from mesh.settings import Settings
from mesh.usage import Budget, UsageMeter

MESH = str(Path(sys.executable).parent / "mesh")


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


fake = _load("fake_openai")
Step = fake.Step


@pytest.fixture
def server() -> Iterator[Any]:
    srv = fake.FakeOpenAI().start()
    yield srv
    srv.stop()


def settings_for(server: Any, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "openai_base_url": server.base_url,
        "openai_api_key": "dummy",
        "llm_model": "fake-model",
        "llm_timeout": 10.0,
        "llm_max_retries": 2,
    }
    return Settings(**(values | extra))


def planner_for(server: Any, **extra: Any) -> LLMPlanner:
    settings = settings_for(server, **extra)
    return LLMPlanner(make_chat_model(settings), None, settings)


TWO_TASKS = {
    "tasks": [
        {"id": "t1", "description": "Compute 2**10", "capability": "arithmetic"},
        {"id": "t2", "description": "Count the words in 'a b c'", "depends_on": []},
    ],
    "rationale": "two independent tasks",
}


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
def test_structured_plan_over_http_with_usage_from_the_server(server: Any, method: str) -> None:
    server.push(Step(plan=TWO_TASKS))
    meter = UsageMeter()
    plan = planner_for(server, llm_method=method).plan("Compute 2**10 and count", meter=meter)
    assert [t.id for t in plan.tasks] == ["t1", "t2"]
    assert plan.task("t1").capability == "arithmetic"
    (seen,) = server.seen
    assert seen.body["model"] == "fake-model"
    if method == "json_schema":
        assert seen.kind == "json_schema"
        schema = seen.body["response_format"]["json_schema"]
        assert schema["name"] == "Plan" and "tasks" in schema["schema"]["properties"]
    else:
        assert seen.kind == "tool"
        assert seen.body["tool_choice"]["function"]["name"] == "Plan"
        assert "tasks" in seen.body["tools"][0]["function"]["parameters"]["properties"]
    usage = meter.usage
    assert usage.calls == 1 and usage.unmetered_calls == 0
    assert usage.total_tokens == server.reported_tokens() > 0
    assert usage.input_tokens == seen.reply["usage"]["prompt_tokens"]


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
def test_malformed_json_is_repaired_with_the_error_sent_back(server: Any, method: str) -> None:
    server.push(Step(text='{"tasks": [{"id": "t1", "description": '), Step(plan=TWO_TASKS))
    meter = UsageMeter()
    plan = planner_for(server, llm_method=method).plan("Compute 2**10 and count", meter=meter)
    assert len(plan.tasks) == 2
    assert len(server.seen) == 2
    repair = server.seen[1].body["messages"]
    assert repair[-2]["role"] == "assistant" and '"tasks": [{"id": "t1"' in repair[-2]["content"]
    assert "not valid JSON" in repair[-1]["content"]
    assert meter.usage.calls_by_purpose == {"plan": 1, "plan-repair": 1}
    assert meter.usage.total_tokens == server.reported_tokens()


def test_truncated_json_is_not_silently_closed(server: Any) -> None:
    """LangChain's JSON parser would close this into a plan with a cut task t2."""
    cut = '{"tasks": [{"id": "t1", "description": "Compute 2**10"}, {"id": "t2", "description": "Co'
    server.push(Step(text=cut), Step(plan=TWO_TASKS))
    plan = planner_for(server).plan("Compute 2**10 and count")
    assert plan.task("t2").description == "Count the words in 'a b c'"
    assert len(server.seen) == 2


def test_valid_json_of_the_wrong_shape_is_repaired(server: Any) -> None:
    server.push(Step(text=json.dumps({"steps": ["compute", "count"]})), Step(plan=TWO_TASKS))
    plan = planner_for(server).plan("Compute 2**10 and count")
    assert len(plan.tasks) == 2
    feedback = server.seen[1].body["messages"][-1]["content"]
    assert "tasks: Field required" in feedback and "steps: Extra inputs" in feedback


def test_a_model_that_never_gets_it_right_ends_in_a_plan_error(server: Any) -> None:
    server.push(*[Step(text="I would rather chat.") for _ in range(3)])
    with pytest.raises(PlanError, match=r"'fake-model' at http://127\.0\.0\.1.*3 tries"):
        planner_for(server, llm_max_repairs=2).plan("x")
    assert len(server.seen) == 3


@pytest.mark.parametrize("status", [429, 500])
def test_429_and_500_are_retried_by_the_client(server: Any, status: int) -> None:
    server.push(Step(status=status), Step(plan=TWO_TASKS))
    meter = UsageMeter()
    plan = planner_for(server, llm_max_retries=2).plan("x", meter=meter)
    assert len(plan.tasks) == 2
    assert [s.status for s in server.seen] == [status, 200]
    assert server.seen[1].headers.get("x-stainless-retry-count") == "1"
    assert meter.usage.calls == 1, "one model call, however many HTTP attempts"


def test_errors_beyond_the_retries_are_a_model_error_saying_what_to_do(server: Any) -> None:
    server.push(Step(status=429), Step(status=429))
    with pytest.raises(
        ModelError, match=r"429 Too Many Requests \(2 tries\).*MESH_LLM_MAX_RETRIES"
    ):
        planner_for(server, llm_max_retries=1).plan("x")
    server.push(Step(status=500), Step(status=500))
    with pytest.raises(ModelError, match=r"HTTP 500 in 2 tries"):
        planner_for(server, llm_max_retries=1).plan("x")


def test_a_timeout_is_a_model_error_naming_the_setting(server: Any) -> None:
    server.push(Step(delay=5.0, plan=TWO_TASKS))
    meter = UsageMeter()
    with pytest.raises(ModelError, match=r"did not answer within 0\.3 s in 1 try.*LLM_TIMEOUT"):
        planner_for(server, llm_timeout=0.3, llm_max_retries=0).plan("x", meter=meter)
    assert meter.usage.calls == 1 and meter.usage.unmetered_calls == 1


def test_an_unreachable_server_is_a_model_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(openai_base_url=f"http://127.0.0.1:{port}/v1", llm_max_retries=0)
    llm = LLMPlanner(make_chat_model(settings), None, settings)
    with pytest.raises(ModelError, match="could not connect"):
        llm.plan("x")


def test_a_run_through_the_mesh_reports_usage_per_run(server: Any, home: Path) -> None:
    with Mesh.local(home, settings=settings_for(server)) as m:
        first = m.run("What is 17 * 23?")
        reported = server.reported_tokens()
        second = m.run("What is 2 + 2?")
    assert "391" in first.answer and "Sources: t1 by calculator" in first.answer
    assert first.results["t1"].agent == "calculator"
    assert first.usage is not None and second.usage is not None
    assert first.usage.calls_by_purpose == {"plan": 1, "synthesize": 1}
    assert first.usage.total_tokens == reported
    assert second.usage.calls == 2, "each run has its own meter"
    prompt = server.seen[0].body["messages"][1]["content"]
    assert "agent calculator" in prompt and "skill arithmetic" in prompt


def cli(home: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "MESH_"))}
    return subprocess.run(
        [MESH, "--home", str(home), *args],
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_acceptance_mesh_run_repairs_a_malformed_plan_and_answers_391(
    server: Any, home: Path
) -> None:
    server.push(Step(text='{"tasks": [{"id": "t1", "description": "What is 17 * 23?"'))
    env = {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "dummy"}
    done = cli(home, env, "run", "What is 17 * 23?", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [s.kind for s in server.seen] == ["json_schema", "json_schema", "text"]
    assert "not valid JSON" in server.seen[1].body["messages"][-1]["content"]
    synth_prompt = server.seen[2].body["messages"][-1]["content"]
    assert '"output": "17 * 23 = 391"' in synth_prompt and '"agent": "calculator"' in synth_prompt
    assert "391" in result["answer"] and "calculator" in result["answer"]
    (task,) = result["plan"]["tasks"]
    assert result["results"][task["id"]]["output"] == "17 * 23 = 391"
    assert result["results"][task["id"]]["agent"] == "calculator"
    assert result["usage"]["calls"] == 3
    assert result["usage"]["total_tokens"] == server.reported_tokens()

    offline = cli(home, {}, "run", "What is 17 * 23?", "--json")
    assert offline.returncode == 0, offline.stderr
    answered = json.loads(offline.stdout)
    assert "391" in answered["answer"] and answered["usage"]["calls"] == 0
    assert len(server.seen) == 3, "no model is configured: the server is not called"


def test_cli_stops_cleanly_when_the_call_budget_is_spent(server: Any, home: Path) -> None:
    server.push(Step(text="{"))
    env = {"OPENAI_BASE_URL": server.base_url, "MESH_LLM_MAX_CALLS": "1"}
    done = cli(home, env, "run", "What is 17 * 23?")
    assert done.returncode == 2
    assert "budget of 1 (MESH_LLM_MAX_CALLS)" in done.stderr
    assert "Traceback" not in done.stderr
    assert len(server.seen) == 1


async def test_a_streamed_run_shows_the_plan_going_back_to_the_model(
    server: Any, home: Path
) -> None:
    server.push(Step(text='{"tasks": '))
    with Mesh.local(home, settings=settings_for(server)) as m:
        events = [event async for event in m.astream("What is 17 * 23?")]
    (repair,) = [e for e in events if e.kind == "plan_repair"]
    assert repair.step == "plan" and "not valid JSON" in repair.data["problem"]
    assert events[-1].kind == "done"
    result = events[-1].data["result"]
    assert "391" in result["answer"] and result["usage"]["calls"] == 3


def test_a_token_budget_caps_the_reply_and_refuses_a_prompt_that_cannot_fit(server: Any) -> None:
    server.push(Step(plan=TWO_TASKS))
    meter = UsageMeter(Budget(max_tokens=4000))
    planner_for(server).plan("Compute 2**10 and count", meter=meter)
    (seen,) = server.seen
    cap = seen.body.get("max_completion_tokens") or seen.body.get("max_tokens")
    assert isinstance(cap, int) and 0 < cap < 4000, "the reply is capped at what is left"

    tight = UsageMeter(Budget(max_tokens=50))
    with pytest.raises(BudgetExceeded, match=r"prompt .* does not fit .* MESH_LLM_MAX_TOKENS"):
        planner_for(server).plan("Compute 2**10 and count", meter=tight)
    assert len(server.seen) == 1, "a prompt that cannot fit is not sent"
    assert tight.usage.calls == 0 and tight.usage.stopped

    server.push(Step(plan=TWO_TASKS))
    planner_for(server).plan("Compute 2**10 and count", meter=UsageMeter())
    assert "max_tokens" not in server.seen[-1].body, "no budget, no cap"
    assert "max_completion_tokens" not in server.seen[-1].body

"""The offline planner: deterministic splitting, ordering and references."""

from __future__ import annotations

import pytest

from mesh import InputError
from mesh.genai import OfflinePlanner, TemplateSynthesizer
from mesh.models import Plan, Task, TaskResult


def shape(request: str) -> list[tuple[str, list[str]]]:
    plan = OfflinePlanner().plan(request)
    return [(t.description, t.depends_on) for t in plan.tasks]


def test_single_question_is_one_task() -> None:
    assert shape("What is 17 * 23?") == [("What is 17 * 23?", [])]


def test_instructions_joined_by_and_are_independent_tasks() -> None:
    assert shape("Compute 2**10 and count the words in 'the quick brown fox jumps'") == [
        ("Compute 2**10", []),
        ("count the words in 'the quick brown fox jumps'", []),
    ]


def test_and_inside_a_phrase_or_quotes_does_not_split() -> None:
    assert len(shape("What is the difference between cats and dogs?")) == 1
    assert len(shape("Summarize 'compute this and count that'")) == 1


def test_then_and_references_make_dependencies() -> None:
    assert shape("Compute 3+4, then multiply the result by 10") == [
        ("Compute 3+4", []),
        ("multiply the result by 10", ["t1"]),
    ]
    assert shape("What is 2+2? Count the words in the answer.") == [
        ("What is 2+2?", []),
        ("Count the words in the answer.", ["t1"]),
    ]


def test_planner_is_deterministic() -> None:
    request = "Compute 1+1; count the words in 'a b c'. Then summarize it."
    assert OfflinePlanner().plan(request) == OfflinePlanner().plan(request)


@pytest.mark.parametrize("bad", ["", "  ", "x" * 20_001])
def test_bad_requests_are_input_errors(bad: str) -> None:
    with pytest.raises(InputError):
        OfflinePlanner().plan(bad)


def test_synthesizer_names_the_agent_and_reports_failures() -> None:
    plan = Plan(tasks=[Task(id="a", description="sum"), Task(id="b", description="count")])
    answer = TemplateSynthesizer().synthesize(
        "q",
        plan,
        {
            "a": TaskResult(task_id="a", status="succeeded", output="2", agent="calculator"),
            "b": TaskResult(task_id="b", status="failed", error="no agent"),
        },
    )
    assert "2 (by calculator)" in answer
    assert "failed — no agent" in answer

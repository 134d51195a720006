"""The offline planner: deterministic splitting, ordering and references."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from mesh import InputError, Mesh
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


def test_control_characters_cannot_forge_hidden_spans() -> None:
    first, second = shape("Compute 2+2 \x000\x00 and count the words in 'a b'")
    assert first[0].startswith("Compute 2+2") and "\x00" not in first[0]
    assert second == ("count the words in 'a b'", [])


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


def test_references_further_back_point_at_the_right_parts() -> None:
    assert shape("Compute 2**8. Compute 3**5. Subtract the first result from the second result.")[
        2
    ] == ("Subtract the first result from the second result.", ["t1", "t2"])
    assert shape("What is 6 * 7 and what is 8 * 9? Then add both results.")[2][1] == ["t1", "t2"]
    assert shape("Compute 1+1. Compute 2+2. Compute 3+3. Add all the results.")[3][1] == [
        "t1",
        "t2",
        "t3",
    ]
    assert shape("Compute 4 / 2 and count the words in 'a b'. Multiply the first result by 3.")[2][
        1
    ] == ["t1"]
    assert shape("Compute 3 + 4 and multiply it by 2")[1] == ("multiply it by 2", ["t1"])


def test_a_pronoun_that_is_not_a_result_makes_no_dependency() -> None:
    assert shape("Who created Python and when was it first released?") == [
        ("Who created Python", []),
        ("when was it first released?", []),
    ]


def test_numbered_items_comma_lists_and_leading_words() -> None:
    assert shape("1) Compute 2 + 3. 2) Count the words in 'alpha beta'. 3) What is HTTP 500?") == [
        ("Compute 2 + 3.", []),
        ("Count the words in 'alpha beta'.", []),
        ("What is HTTP 500?", []),
    ]
    assert [t for t, _ in shape("Compute 10 + 5, count the words in 'hi there', and add 2+2")] == [
        "Compute 10 + 5",
        "count the words in 'hi there'",
        "add 2+2",
    ]
    assert shape("First compute 5 * 5. After that, count the words in the result.") == [
        ("compute 5 * 5.", []),
        ("count the words in the result.", ["t1"]),
    ]
    assert shape("What is 2+2? Also, what is 3+3?")[1] == ("what is 3+3?", [])


def test_material_after_a_colon_or_inside_quotes_stays_whole() -> None:
    request = "Summarize: The mesh plans. Agents act. Policy gates each edge."
    assert shape(request) == [(request, [])]
    two = shape("Summarize: Agents act. Policy gates. Then count the words in the summary.")
    assert two[1] == ("count the words in the summary.", ["t1"])
    quoted = shape("Count the sentences in 'One. Two.' Count the words in 'three four'.")
    assert [t for t, _ in quoted] == [
        "Count the sentences in 'One. Two.'",
        "Count the words in 'three four'.",
    ]
    reference_inside_quotes = shape("Compute 1+1 and summarize 'The answer is the result.'")
    assert reference_inside_quotes[1][1] == [], "quoted words are material, not references"


def test_apostrophes_are_not_quotes() -> None:
    assert shape("What's 2+2 and what's 3+3?") == [("What's 2+2", []), ("what's 3+3?", [])]
    assert shape("Count the words in 'I don't know, and I can't say' and compute 2+2") == [
        ("Count the words in 'I don't know, and I can't say'", []),
        ("compute 2+2", []),
    ]


def test_long_quoted_material_does_not_steer_the_capability() -> None:
    plan = OfflinePlanner().plan("Summarize 'compute this and count that' and count 'a'")
    assert [t.capability for t in plan.tasks] == ["Summarize '…'", "count 'a'"]
    assert plan.tasks[0].description == "Summarize 'compute this and count that'"


def test_material_after_a_colon_does_not_steer_the_capability_even_in_short_sentences() -> None:
    request = "Summarize the README: Mesh turns a request into work. It plans. It finds agents."
    plan = OfflinePlanner().plan(request + " Then count the words in it")
    assert [t.capability for t in plan.tasks] == [
        "Summarize the README: …",
        "count the words in it",
    ]
    assert plan.tasks[0].description == request
    assert OfflinePlanner().plan("Translate: hi").tasks[0].capability == "Translate: hi"


def test_a_comma_before_a_question_splits_after_an_instruction_or_question() -> None:
    assert shape("What is 2**10, what is 3**5, and add the two results") == [
        ("What is 2**10", []),
        ("what is 3**5", []),
        ("add the two results", ["t1", "t2"]),
    ]
    assert shape("What's 12*3, what's 7*8 and multiply both results") == [
        ("What's 12*3", []),
        ("what's 7*8", []),
        ("multiply both results", ["t1", "t2"]),
    ]
    assert shape("First, compute 2+2, how many moons does Mars have?") == [
        ("compute 2+2", []),
        ("how many moons does Mars have?", []),
    ]
    assert shape('Count the words in "a, what b", what is 2+2') == [
        ('Count the words in "a, what b"', []),
        ("what is 2+2", []),
    ]


@pytest.mark.parametrize(
    "request_",
    [
        "For each planet, what moons does it have?",  # a phrase, not an instruction, before
        "Tell me, what is the boiling point of water?",  # "Tell me" asks nothing itself
        "When it rains, what should I wear?",  # "when" opens a clause here
        "Describe the tool, what it does",  # "what it does" is a clause, not a question
        "Compute 2+2, why?",  # nothing to ask after the question word
        "Summarize: where is it, what is it",  # material after an instruction's colon
        "Count the words in 'where is it, what is it'",  # quoted material
    ],
)
def test_a_comma_before_a_question_word_that_asks_nothing_new_does_not_split(
    request_: str,
) -> None:
    assert shape(request_) == [(request_, [])]


def test_two_questions_joined_by_a_comma_are_both_computed_and_added(mesh: Mesh) -> None:
    result = mesh.run("What is 2**10, what is 3**5, and add the two results")
    assert [t.depends_on for t in result.plan.tasks] == [[], [], ["t1", "t2"]]
    outputs = [str(result.results[t.id].output) for t in result.plan.tasks]
    assert "1024" in outputs[0] and "243" in outputs[1] and "1267" in outputs[2], outputs


DATA = Path(__file__).resolve().parent.parent / "data"


def _rows(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line]


@pytest.mark.parametrize("name", ["plans.jsonl", "plans_holdout.jsonl"])
def test_labelled_sets_are_well_formed(name: str) -> None:
    rows = _rows(name)
    for row in rows:
        ids = [f"t{i}" for i in range(1, len(row["tasks"]) + 1)]
        for index, expected in enumerate(row["tasks"]):
            assert set(expected["depends_on"]) <= set(ids[:index]), row["id"]
            agent, _, skill = expected["capability"].partition("/")
            assert agent in {"calculator", "text", "knowledge"} and skill, row["id"]
    assert len({row["id"] for row in rows}) == len(rows)
    if name == "plans.jsonl":
        assert sum(len(row["tasks"]) > 1 for row in rows) >= 40


def test_offline_structure_on_the_labelled_set() -> None:
    """Guards the figure in bench/RESULTS.md: tasks and dependencies as labelled."""
    misses = []
    for row in _rows("plans.jsonl"):
        got = shape(row["request"])
        want = [(t["text"], t["depends_on"]) for t in row["tasks"]]
        norm = [(re.sub(r"[.?!]$", "", t).lower(), d) for t, d in got]
        if norm != [(re.sub(r"[.?!]$", "", t).lower(), d) for t, d in want]:
            misses.append((row["id"], got))
    assert misses == []

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


@pytest.mark.parametrize(
    ("request_", "deps"),
    [
        ("What is 17 squared? What is 23 squared? What is 31 squared? Add up all three.",
         ["t1", "t2", "t3"]),
        ("Compute 1+1. Compute 2+2. Compute 3+3. Multiply all 3 results.", ["t1", "t2", "t3"]),
        ("Compute 1+1. Compute 2+2. Compute 3+3. Add all two.", ["t2", "t3"]),
        ("What is 2**10? What is 3**5? Add them up.", ["t1", "t2"]),
        # "them" is the results nothing has used yet: t1 went into t2
        ("What is 2**10, then double it. What is 3**5? Add them.", ["t2", "t3"]),
    ],
)  # fmt: skip
def test_all_n_and_them_point_at_the_results_before(request_: str, deps: list[str]) -> None:
    assert shape(request_)[-1][1] == deps


@pytest.mark.parametrize(
    ("request_", "planned"),
    [
        # "it" not at the end, after an operation, is the result before
        ("whats the average order amount in orders.csv? add 20% to it afterwards",
         [("whats the average order amount in orders.csv?", []),
          ("add 20% to it afterwards", ["t1"])]),
        ("how many days are there from 2025-01-01 to 2025-07-01? I need it in hours so"
         " multiply that by 24",
         [("how many days are there from 2025-01-01 to 2025-07-01?", []),
          ("I need it in hours so multiply that by 24", ["t1"])]),
    ],
)  # fmt: skip
def test_an_operation_on_it_depends_on_the_part_before(
    request_: str, planned: list[tuple[str, list[str]]]
) -> None:
    assert shape(request_) == planned


@pytest.mark.parametrize(
    ("request_", "planned"),
    [
        # a bulleted list whose every bullet asks is a list of asks; its header goes
        ('Hi! I need two quick things:\n- how many words are in "Good things come to those'
         ' who wait."\n- how many days between 2025-09-15 and 2026-01-01',
         [('how many words are in "Good things come to those who wait."', []),
          ("how many days between 2025-09-15 and 2026-01-01", [])]),
        ("Two things:\n* what is 2+2\n* convert 5 km to miles",
         [("what is 2+2", []), ("convert 5 km to miles", [])]),
        # a header that asks for what its bullets name makes each bullet an ask
        ("Can you give me:\n- total units sold per product in sales.csv\n- 7 factorial",
         [("total units sold per product in sales.csv", []), ("7 factorial", [])]),
        # "Then" inside the material is the text's, not a step
        ("how many sentences are in this paragraph: I missed the bus. Then it started"
         " raining! Did I bring an umbrella? No.",
         [("how many sentences are in this paragraph: I missed the bus. Then it started"
           " raining! Did I bring an umbrella? No.", [])]),
        ("Summarize: The cat sat. The dog ran. Then count the words in the summary.",
         [("Summarize: The cat sat. The dog ran.", []),
          ("count the words in the summary.", ["t1"])]),
        # an ask that names data it does not hold takes the plain sentences after it
        ("how many sentences in this paragraph? The build failed again. I checked the logs."
         " Then Sam restarted the runner.",
         [("how many sentences in this paragraph? The build failed again. I checked the logs."
           " Then Sam restarted the runner.", [])]),
        # "Also, <ask>" and "] and <ask>" end the material before them
        ("Write a report on my monthly bills: rent 1,450, utilities 210. Also, what is the"
         " average age in employees.csv?",
         [("Write a report on my monthly bills: rent 1,450, utilities 210.", []),
          ("what is the average age in employees.csv?", [])]),
        ('convert to csv: [{"city":"Oslo","temp":4}] and what is the average of 4, 19 and 22',
         [('convert to csv: [{"city":"Oslo","temp":4}]', []),
          ("what is the average of 4, 19 and 22", [])]),
        # bullets of data are the instruction's material
        ("Summarize:\n- the sky is blue\n- grass is green",
         [("Summarize:\n- the sky is blue\n- grass is green", [])]),
        ("Convert these to km:\n- 5 miles\n- 10 miles",
         [("Convert these to km:\n- 5 miles\n- 10 miles", [])]),
        # a quote alone after a question is what the question asks about
        ("How many words is this sentence? 'The early bird catches the worm, but the second"
         " mouse gets the cheese.'",
         [("How many words is this sentence? 'The early bird catches the worm, but the second"
           " mouse gets the cheese.'", [])]),
        # material at the end goes to the ask that names it, before the step after it
        ("count the words in this blurb and then multiply that by 0.12 (my rate): 'Our new"
         " café opens on Monday with fresh pastries.'",
         [("count the words in this blurb: 'Our new café opens on Monday with fresh"
           " pastries.'", []), ("multiply that by 0.12 (my rate)", ["t1"])]),
    ],
)  # fmt: skip
def test_bullets_and_material_reach_the_ask_they_belong_to(
    request_: str, planned: list[tuple[str, list[str]]]
) -> None:
    assert shape(request_) == planned


def test_turn_is_an_instruction_and_a_colon_in_brackets_is_datas() -> None:
    assert shape('1. average age in employees.csv 2. turn this into CSV: [{"a": 1}]') == [
        ("average age in employees.csv", []),
        ('turn this into CSV: [{"a": 1}]', []),
    ]
    assert shape(
        'turn [{"sku": "A1", "qty": 4}] into CSV, and write a report on my expenses:'
        " hosting 90, domains 30"
    ) == [
        ('turn [{"sku": "A1", "qty": 4}] into CSV', []),
        ("write a report on my expenses: hosting 90, domains 30", []),
    ]


@pytest.mark.parametrize(
    ("request_", "planned"),
    [
        # "separately" after a dash ends the material of the instruction before it
        ('convert to CSV: [{"a": 1, "b": 2}] -- and separately, is 2028 a leap year?',
         [('convert to CSV: [{"a": 1, "b": 2}]', []), ("is 2028 a leap year?", [])]),
        ("what is 2+2; separately, convert 5 km to miles",
         [("what is 2+2", []), ("convert 5 km to miles", [])]),
        # a leading "Separately," is no part of its own
        ("report on our budget: ads 300, hosting 150. Separately, convert 5 gallons to liters",
         [("report on our budget: ads 300, hosting 150.", []),
          ("convert 5 gallons to liters", [])]),
        # "separately" inside an ask is an adverb
        ("sort these separately by price: [3, 1]",
         [("sort these separately by price: [3, 1]", [])]),
    ],
)  # fmt: skip
def test_separately_starts_a_new_ask(request_: str, planned: list[tuple[str, list[str]]]) -> None:
    assert shape(request_) == planned


def test_a_bare_question_word_after_and_is_no_new_ask() -> None:
    # "why" was a part of its own, refused at discovery
    assert shape("which planet is the hottest one and why") == [
        ("which planet is the hottest one and why", [])
    ]
    assert shape("what is 2+2 and what is 3+3") == [("what is 2+2", []), ("what is 3+3", [])]
    # nor "why is it …" after a question: it asks about the same thing
    assert shape("Which planet is the hottest, and why is it so hot?") == [
        ("Which planet is the hottest, and why is it so hot?", [])
    ]


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


def capabilities(request: str) -> list[str]:
    return [t.capability or "" for t in OfflinePlanner().plan(request).tasks]


def test_a_question_word_before_a_colon_opens_material_when_text_follows() -> None:
    request = "how many sentences does this have: It rained. We stayed in. The cat slept all day."
    assert shape(request) == [(request, [])]
    assert capabilities(request) == ["how many sentences does this have: …"]
    gist = shape("What is the gist of this: Agents plan. Agents act. Then count its words.")
    assert [d for _, d in gist] == [[], ["t1"]]
    assert gist[0][0] == "What is the gist of this: Agents plan. Agents act."


@pytest.mark.parametrize(
    ("request_", "parts"),
    [
        ("What I mean: the mesh plans. Count the words in 'a b'.", 2),  # a clause, not a question
        ("How about this: what is 2+2? What is 3+3?", 2),  # a new question after the colon
        ("What is the sum of: 3, 4 and 5? Count the words in 'a b'.", 2),  # ends in "?"
        ("What is 2+2: also compute 3+3", 2),  # an instruction after the colon, no material
    ],
)
def test_a_question_word_before_a_colon_opens_no_material_before_a_question(
    request_: str, parts: int
) -> None:
    plan = OfflinePlanner().plan(request_)
    assert len(plan.tasks) == parts
    assert all("…" not in (t.capability or "") for t in plan.tasks)


def test_tldr_is_a_word_that_asks_for_a_summary_not_a_separator() -> None:
    text = "Chroma stores the cards. The weather was fine. Chroma embeds them."
    for lead in ("tl;dr", "TL;DR", "tl; dr"):
        assert shape(f"{lead}: {text}") == [(f"{lead}: {text}", [])]
    assert capabilities(f"tl;dr: {text}") == ["tl;dr: …"]
    assert len(shape("Compute 2+2; count the words in 'a b'")) == 2, "other ';' still split"


def test_numbered_items_in_sequence_split_without_punctuation_before_them() -> None:
    request = "1) what is 7 factorial 2) convert 50 kg to pounds 3) what does HTTP 503 mean"
    assert shape(request) == [
        ("what is 7 factorial", []),
        ("convert 50 kg to pounds", []),
        ("what does HTTP 503 mean", []),
    ]
    assert [t for t, _ in shape("1. compute 2+2 2. count the words in 'a b'")] == [
        "compute 2+2",
        "count the words in 'a b'",
    ]
    assert shape("1) Summarize: A cat. A dog. 2) then count the words in it") == [
        ("Summarize: A cat. A dog.", []),
        ("count the words in it", ["t1"]),
    ], "a numbered item ends the material of the item before"
    assert shape("1) Summarize: A cat. A dog. 2) Count the words in 'a b'")[1] == (
        "Count the words in 'a b'",
        [],
    )


@pytest.mark.parametrize(
    "request_",
    [
        "1) compute (4 * 2) times 3",  # "2)" closes a bracket (the next number in turn
        # splits without an instruction after it: "1) 15% of 2,340 2) 5 kg in lbs")
        "1) compute 3 * 3) what",  # out of sequence: 3 before 2
        "1. compute 7 * 2) what is it",  # another style: "2)" after "1."
    ],
)
def test_numbers_that_are_not_the_next_marker_do_not_split(request_: str) -> None:
    assert len(shape(request_)) == 1


def test_a_lower_case_instruction_after_a_sentence_end_is_a_new_part() -> None:
    assert shape("convert 100 celsius to fahrenheit. what is 2 to the power of 16?") == [
        ("convert 100 celsius to fahrenheit.", []),
        ("what is 2 to the power of 16?", []),
    ]
    assert shape("what is 2+2? count the words in the answer! compute 3*3") == [
        ("what is 2+2?", []),
        ("count the words in the answer!", ["t1"]),
        ("compute 3*3", []),
    ]


@pytest.mark.parametrize(
    "request_",
    [
        "Name a noble gas, e.g. what is used in balloons",  # "e.g." is an abbreviation
        "Give the distance to the moon approx. what it is in km",
        "Compute 2.5 times 4",  # a decimal point is no sentence end
        "I like it. the count is 3",  # lower case, but no instruction follows
    ],
)
def test_no_split_after_an_abbreviation_or_before_a_lower_case_non_instruction(
    request_: str,
) -> None:
    assert len(shape(request_)) == 1


def test_a_semicolon_before_a_new_instruction_ends_colon_material() -> None:
    request = (
        "Write a report on sales by quarter: Q1 1200, Q2 1500, Q3 900, Q4 1400;"
        " and what does HTTP status 301 mean?"
    )
    assert shape(request) == [
        ("Write a report on sales by quarter: Q1 1200, Q2 1500, Q3 900, Q4 1400", []),
        ("what does HTTP status 301 mean?", []),
    ]
    assert capabilities(request)[0] == "Write a report on sales by quarter: …"
    chained = shape("Summarize: Agents plan. They act; then count the words in the summary")
    assert chained[1] == ("count the words in the summary", ["t1"])


@pytest.mark.parametrize(
    "request_",
    [
        "Summarize: apples are red; bananas are yellow; pears are green.",  # data, not asks
        "Count the words: what a day; what a night",  # "what a day" is no question
    ],
)
def test_a_semicolon_inside_colon_material_before_no_instruction_stays_material(
    request_: str,
) -> None:
    assert shape(request_) == [(request_, [])]


def test_a_subject_pronoun_after_a_question_about_a_name_is_searched_as_that_name() -> None:
    plan = OfflinePlanner().plan("Who created Python, and when was it first released?")
    assert [(t.description, t.depends_on) for t in plan.tasks] == [
        ("Who created Python", []),
        ("when was it first released?", []),
    ]
    assert plan.tasks[1].capability == "when was Python first released?"
    assert capabilities("When was Linux released? What is it used for?")[1] == (
        "What is Linux used for?"
    )
    # typed in lower case, the name is what "who …ed" asks about
    assert capabilities("who created python and what year was it first released")[1] == (
        "what year was python first released"
    )
    assert capabilities("who invented the telephone? when was it patented")[1] == (
        "when was the telephone patented"
    )


@pytest.mark.parametrize(
    "request_",
    [
        "Compute 2+2 for Alice and when was it first released?",  # not after a question
        "Who met Alice and Bob? When was it?",  # two names: which one is unclear
        "What is 2+2? What is it times 3?",  # no name; "it" is the result
        "What is the boiling point of Water? What is it in Fahrenheit?",  # "it": the answer
        "Who wrote Hamlet? When did they die?",  # "they" is the person who is the answer
        "Who met Alice? When was it?",  # "it" last refers to the answer: a dependency
    ],
)
def test_a_subject_pronoun_is_left_alone_when_the_name_is_not_clear(request_: str) -> None:
    plan = OfflinePlanner().plan(request_)
    assert plan.tasks[-1].capability == plan.tasks[-1].description


def test_then_after_a_semicolon_orders_the_parts() -> None:
    assert shape("Compute 2+2; then multiply by 3") == [
        ("Compute 2+2", []),
        ("multiply by 3", ["t1"]),
    ]


def test_a_bare_ordinal_beside_an_ordinal_result_points_at_its_part() -> None:
    assert shape("What is 2**8 and what is 3**4? Subtract the second result from the first.") == [
        ("What is 2**8", []),
        ("what is 3**4?", []),
        ("Subtract the second result from the first.", ["t1", "t2"]),
    ]
    last = shape("Compute 2+2. Compute 3+3. Then give me the first.")[2]
    assert last == ("give me the first.", ["t2"])  # "the first" alone: no ordinal result


def test_also_before_an_ask_with_its_own_figures_starts_a_part() -> None:
    request = "Tell me sqrt(2) to 5 decimal places, and also the date 100 days after 2024-01-01."
    assert shape(request) == [
        ("Tell me sqrt(2) to 5 decimal places", []),
        ("the date 100 days after 2024-01-01.", []),
    ]
    assert len(shape("count the words and also the sentences in 'a 1 b'")) == 1


def test_the_two_alone_at_the_end_points_at_the_two_parts_before() -> None:
    request = (
        "What is 3 to the power of 7, what is 5 cubed, and what's the difference between the two?"
    )
    assert shape(request)[2] == ("what's the difference between the two?", ["t1", "t2"])

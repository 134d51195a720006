"""Greetings, list headers and context statements frame a request; they are not asks."""

from __future__ import annotations

import pytest

from mesh.offline import parse_request


def parts(request: str) -> list[tuple[str, tuple[int, ...]]]:
    return [(p.text, p.depends_on) for p in parse_request(request)]


@pytest.mark.parametrize(
    ("request_", "planned"),
    [
        # a greeting was a task of its own, refused at discovery
        ("Good morning! Write a report on: rent 1000, food 500",
         ["Write a report on: rent 1000, food 500"]),
        ("Thanks! What is 2+2?", ["What is 2+2?"]),
        ("Hi!", ["Hi!"]),  # nothing else: kept, and discovery refuses it with its reason
        # a header before a numbered list hid the list
        ("Two things:\n1. Count the words in 'a b c'\n2. Convert 30 °C to Fahrenheit",
         ["Count the words in 'a b c'", "Convert 30 °C to Fahrenheit"]),
        ("Compute this: 1) 2+2 2) 3+3", ["Compute this: 1) 2+2 2) 3+3"]),  # an instruction
        # a statement the next sentence asks about travels with it
        ("My API keeps getting HTTP 429. What does that status code mean?",
         ["My API keeps getting HTTP 429. What does that status code mean?"]),
        ("My daughter asked which planet is the hottest and I blanked. Which one is it?",
         ["My daughter asked which planet is the hottest and I blanked. Which one is it?"]),
        ("I weigh 80 kg. What is that in pounds? And what is 2+2?",
         ["I weigh 80 kg. What is that in pounds?", "what is 2+2?"]),
        ("My name is Bob. Convert 5 km to miles.", ["My name is Bob.", "Convert 5 km to miles."]),
        # data named before it is given is one ask with the data
        ('From this JSON keep the records where age > 30 and give me CSV: [{"age": 31}]',
         ['From this JSON keep the records where age > 30 and give me CSV: [{"age": 31}]']),
    ],
)  # fmt: skip
def test_what_frames_a_request_is_not_planned_as_an_ask(request_: str, planned: list[str]) -> None:
    assert [text for text, _ in parts(request_)] == planned


def test_an_ask_after_a_statement_it_does_not_refer_to_does_not_depend_on_it() -> None:
    assert parts("My name is Bob. Convert 5 km to miles.")[1][1] == ()

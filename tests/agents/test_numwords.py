from __future__ import annotations

from collections.abc import Callable

import pytest

from mesh.agents import calculator, dates, units
from mesh.agents._numwords import with_digits
from mesh.models import TaskRequest, TaskResult


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("what's fifteen percent of 2340?", "what's 15 percent of 2340?"),
        ("two hundred and fifty", "250"),
        ("twenty-five", "25"),
        ("one hundred and twenty three thousand four hundred and five", "123405"),
        ("a hundred", "100"),
        ("a thousand and one nights", "1001 nights"),
        ("add three and four", "add 3 and 4"),  # two numbers, not 7 or 34
        ("twenty thirty", "20 30"),
        ("add one to it", "add 1 to it"),
        # digits before a scale word ("about 150 million kilometres" read as 150 1000000)
        ("about 150 million kilometres", "about 150000000 kilometres"),
        ("1.5 billion people", "1500000000 people"),
        ("2.25 thousand", "2250"),
        # "one" as a pronoun, and words that only hold a number word, stay words
        ("which one is bigger", "which one is bigger"),
        ("the first one", "the first one"),
        ("one of them", "one of them"),
        ("someone is done", "someone is done"),
        ("a one-way street", "a one-way street"),
    ],
)
def test_numbers_in_words_become_digits(text: str, read: str) -> None:
    assert with_digits(text) == read


@pytest.mark.parametrize(
    ("handler", "asked", "shown"),
    [
        (calculator.handler, "hey, what's fifteen percent of 2340?", "= 351"),
        (calculator.handler, "multiply twelve by three", "12 * 3 = 36"),
        (calculator.handler, "sqrt(2) to two decimal places", "= 1.41"),
        (units.handler, "Convert five feet to centimetres", "5 ft = 152.4 cm"),
        (dates.handler, "what date is three weeks after 2025-01-01", "2025-01-22"),
    ],
)
def test_agents_that_compute_read_numbers_in_words(
    handler: Callable[[TaskRequest], TaskResult], asked: str, shown: str
) -> None:
    assert shown in handler(TaskRequest(task_id="t1", description=asked)).output

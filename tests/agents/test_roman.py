"""Roman numerals in the calculator: written and read in the standard form only."""

from __future__ import annotations

import pytest

from mesh.agents._roman import from_roman, to_roman
from mesh.agents.calculator import handler
from mesh.errors import InvalidInput, TaskRejected
from mesh.models import TaskRequest, TaskResult


def ask(description: str, upstream: dict[str, TaskResult] | None = None) -> TaskResult:
    return handler(TaskRequest(task_id="t", description=description, upstream=upstream or {}))


def test_every_number_from_1_to_3999_reads_back_as_itself() -> None:
    assert all(from_roman(to_roman(n)) == n for n in range(1, 4000))
    assert (to_roman(1994), to_roman(3999), to_roman(4)) == ("MCMXCIV", "MMMCMXCIX", "IV")


@pytest.mark.parametrize(
    ("question", "output"),
    [
        # each was "found no arithmetic expression"
        ("1994 in roman numerals", "1994 = MCMXCIV in Roman numerals"),
        ("convert 2024 to roman numerals", "2024 = MMXXIV in Roman numerals"),
        ("what is 2000 + 25 as a roman numeral", "2000 + 25 = 2025 = MMXXV in Roman numerals"),
        ("what is XLVII in decimal?", "XLVII = 47"),
        ("what's XIV", "XIV = 14"),
        ("what is mcmxciv in roman numerals", "MCMXCIV = 1994"),  # lower case with "roman"
    ],
)
def test_numbers_are_written_and_read_in_roman_numerals(question: str, output: str) -> None:
    assert ask(question).output == output


def test_the_result_before_is_written_in_roman_numerals() -> None:
    before = TaskResult(task_id="a", status="succeeded", output="12 * 4 = 48", data={"value": 48})
    assert ask("write the result in roman numerals", {"a": before}).output.endswith(
        "XLVIII in Roman numerals"
    )


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("IIII in roman numerals", "not a Roman numeral in the standard form"),
        ("what is IC in roman numerals", "write each place once"),
        ("5000 in roman numerals", "writes 1 to 3999"),
        ("0 in roman numerals", "writes 1 to 3999"),
        ("7.5 in roman numerals", "not a whole number"),
    ],
)
def test_what_has_no_standard_numeral_is_refused(question: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        ask(question)


@pytest.mark.parametrize("question", ["calculate the CV of the scores", "what is MIX in the app"])
def test_capitals_in_a_longer_question_are_not_read_as_numerals(question: str) -> None:
    with pytest.raises(TaskRejected):  # not "CV = 105" or "MIX = 1009"
        ask(question)

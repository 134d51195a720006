"""The dates agent: differences, shifts, weekdays and leap years from plain words."""

from __future__ import annotations

from datetime import date

import pytest

from mesh import Mesh
from mesh.agents._calendar import add_business_days, add_months, business_days_between
from mesh.agents.dates import answer, handler, parse_date
from mesh.errors import InvalidInput, TaskRejected
from mesh.models import TaskRequest, TaskResult

TODAY = date(2024, 6, 15)


@pytest.mark.parametrize(
    ("question", "output"),
    [
        (
            "how many days between 2024-01-01 and 2024-03-01",
            "60 days from 2024-01-01 to 2024-03-01 (2 months)",
        ),
        (
            "business days from 1 March 2024 to 29 March 2024",
            "20 business days from 2024-03-01 to 2024-03-29 (Monday to Friday, end date excluded)",
        ),
        (
            "what date is 90 days after 2024-02-10",
            "2024-05-10 (Friday) is 90 days after 2024-02-10",
        ),
        ("add 1 month to 2024-01-31", "2024-02-29 (Thursday) is 1 month after 2024-01-31"),
        (
            "10 business days before 2024-12-24",
            "2024-12-10 (Tuesday) is 10 business days before 2024-12-24",
        ),
        ("March 1st, 2024 plus 3 weeks", "2024-03-22 (Friday) is 3 weeks after 2024-03-01"),
        (
            "subtract 2 years from 29 February 2024",
            "2022-02-28 (Monday) is 2 years before 2024-02-29",
        ),
        ("what day of the week is 2025-12-25", "2025-12-25 is a Thursday"),
        ("is 2100 a leap year", "2100 is not a leap year"),
        ("is 2000 a leap year", "2000 is a leap year"),
        # the days in a month or a year: each was "found no date question"
        ("how many days are in february 2024?", "February 2024 has 29 days"),
        ("how many days in feb 2100", "February 2100 has 28 days"),
        ("how many days does april have", "April has 30 days"),
        ("how many days are there in 2024", "2024 has 366 days"),
        (
            "how many days until 2030-01-01",
            "2,026 days from 2024-06-15 to 2030-01-01 (5 years, 6 months, 17 days)",
        ),
        (
            "what was the date 30 days ago from today",
            "2024-05-16 (Thursday) is 30 days before 2024-06-15",
        ),
    ],
)
def test_answers_date_questions(question: str, output: str) -> None:
    assert answer(question, TODAY)[0] == output


@pytest.mark.parametrize(
    ("question", "output", "value"),
    [
        (
            "how many weeks between 2025-01-06 and 2025-03-31?",
            "12 weeks (84 days) from 2025-01-06 to 2025-03-31",
            12,
        ),
        (
            "how many weeks until 2025-03-31 from 2025-01-01?",  # the start comes second
            "12 weeks and 5 days (89 days) from 2025-01-01 to 2025-03-31",
            12.7143,
        ),
        (
            "how many months between 2025-01-15 and 2025-06-01",
            "4 months and 17 days (137 days) from 2025-01-15 to 2025-06-01",
            4,
        ),
        (
            "how many years between 1990-05-20 and 2025-03-01",
            "34 years, 9 months and 9 days (12,704 days) from 1990-05-20 to 2025-03-01",
            34,
        ),
    ],
)
def test_a_difference_is_told_in_the_unit_asked(question: str, output: str, value: float) -> None:
    """Its value, for a task after ("then multiply by 40 hours"), is in that unit too."""
    told, data = answer(question, TODAY)
    assert (told, data["value"]) == (output, value)
    assert data["unit"] == question.split()[2].removesuffix("s")


def test_difference_data_has_every_unit() -> None:
    _, data = answer("days between 2024-01-01 and 2025-03-15", TODAY)
    assert data["days"] == 439
    assert (data["years"], data["months"], data["remaining_days"]) == (1, 2, 14)
    assert data["value"] == 439


def test_month_arithmetic_clamps_to_month_end() -> None:
    assert add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)
    assert add_months(date(2024, 3, 31), -1) == date(2024, 2, 29)
    assert add_months(date(2024, 12, 15), 1) == date(2025, 1, 15)


def test_business_days_skip_weekends_both_ways() -> None:
    friday = date(2024, 3, 1)
    assert add_business_days(friday, 1) == date(2024, 3, 4)
    assert add_business_days(date(2024, 3, 4), -1) == friday
    assert business_days_between(friday, date(2024, 3, 4)) == 1
    assert business_days_between(date(2024, 3, 4), friday) == -1
    for days in range(0, 40):
        start = date(2024, 1, 1)
        assert business_days_between(start, add_business_days(start, days)) == days


def test_handler_pins_today_from_inputs() -> None:
    result = handler(
        TaskRequest(
            task_id="t",
            description="what is the date tomorrow plus 1 day",
            inputs={"today": "2024-12-30"},
        )
    )
    assert result.data["date"] == "2025-01-01"
    assert result.agent == "dates"


@pytest.mark.parametrize(
    ("question", "output"),
    [
        (
            "We're launching on 2025-11-02 and today is 2025-03-15. How many days do we have left?",
            "232 days from 2025-03-15 to 2025-11-02 (7 months, 18 days)",
        ),
        (
            "It's 1 March 2025 today. how many days since 2024-12-25?",
            "66 days from 2024-12-25 to 2025-03-01 (2 months, 4 days)",
        ),
        (
            "assuming today's date is March 3, 2025, what date is 30 days from today",
            "2025-04-02 (Wednesday) is 30 days after 2025-03-03",
        ),
        (  # the stated today is not a second date to count between
            "today is 2025-03-15, how many days between 2025-01-01 and 2025-02-01",
            "31 days from 2025-01-01 to 2025-02-01 (1 month)",
        ),
    ],
)
def test_today_stated_in_the_request_wins_over_the_clock(question: str, output: str) -> None:
    assert answer(question, TODAY)[0] == output


@pytest.mark.parametrize(
    ("request_text", "answer"),
    [
        ("today is 2026-02-01. what date is 3 weeks from today?", "2026-02-22 (Sunday)"),
        ("it is 2025-06-01 today. how many days until 2025-12-25?", "207 days from 2025-06-01"),
    ],
)
def test_a_sentence_that_says_what_day_it_is_goes_with_the_date_question(
    mesh: Mesh, request_text: str, answer: str
) -> None:
    """The stated today was planned as a task of its own, and the dates agent refused it."""
    result = mesh.run(request_text)
    assert [r.agent for r in result.results.values()] == ["dates"]
    assert result.answer.startswith(answer)


def test_days_since_a_past_date_count_up_to_today() -> None:
    output, data = answer("how many days since 2024-06-01?", TODAY)
    assert output == "14 days from 2024-06-01 to 2024-06-15"
    assert data["value"] == 14
    assert answer("how many days left until 2024-07-01", TODAY)[1]["value"] == 16


def test_a_stated_today_without_a_question_is_refused_quoting_the_request() -> None:
    with pytest.raises(TaskRejected, match=r"found no date question in 'it is 2025-06-01 today\.'"):
        answer("it is 2025-06-01 today.", TODAY)


def test_a_stated_today_that_is_no_date_is_refused() -> None:
    with pytest.raises(InvalidInput, match="February 2025 has 28 days"):
        answer("today is 2025-02-30, how many days until 2025-12-25", TODAY)


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("days between 03/04/2024 and 2024-05-01", "ambiguous"),
        (
            "what is 2024-02-30 plus 1 day",
            "not a real date: February 2024 has 29 days, so day 30 does not exist; give a valid",
        ),
        ("what weekday is 2025-02-30", "February 2025 has 28 days"),
        (
            "what is 2024-13-01 plus one week",
            "there is no month 13, so the date does not exist; give a valid date",
        ),
        ("what weekday is 0000-01-01", "the year 0 is out of range"),
        ("what is the weather like", "found no date question"),
        ("add 2000000 days to 2024-01-01", "too far"),
        ("add 9000 years to 2024-01-01", "leaves the years 1-9999"),
        ("is it a leap year", "say which year"),
        ("how many days are in february", "29 in a leap year: say which year"),
    ],
)
def test_refuses_bad_dates_with_the_reason(question: str, message: str) -> None:
    with pytest.raises(TaskRejected, match=message):
        answer(question, TODAY)


def test_parse_date_accepts_written_forms() -> None:
    assert parse_date("1 March 2024") == date(2024, 3, 1)
    assert parse_date("Sept 9, 2024") == date(2024, 9, 9)
    assert parse_date("2024-3-5") == date(2024, 3, 5)
    with pytest.raises(TaskRejected, match="not a date"):
        parse_date("soon")


def _after(value: object) -> dict[str, TaskResult]:
    data = {"value": value}
    return {"t1": TaskResult(task_id="t1", status="succeeded", output=f"= {value}", data=data)}


@pytest.mark.parametrize(
    "asked",
    [
        "what date is that many days after 2025-01-01",
        "tell me the date that number of days after 2025-01-01",  # was "no date question"
    ],
)
def test_that_many_days_is_the_number_the_task_before_gave(asked: str) -> None:
    req = TaskRequest(task_id="t2", description=asked, upstream=_after(210))
    assert handler(req).data["date"] == "2025-07-30"
    with pytest.raises(TaskRejected, match="not a whole number of days"):
        handler(TaskRequest(task_id="t2", description=asked, upstream=_after(2.5)))


def _shifted(day: str) -> dict[str, TaskResult]:
    output = f"{day} (Friday) is 90 days after 2025-03-01"  # two dates: data says which
    return {"t1": TaskResult(task_id="t1", status="succeeded", output=output, data={"date": day})}


@pytest.mark.parametrize(
    ("question", "output"),
    [
        ("tell me what weekday that falls on.", "2025-05-30 is a Friday"),
        ("what day of the week is it?", "2025-05-30 is a Friday"),
        ("add 2 weeks to that date", "2025-06-13 (Friday) is 2 weeks after 2025-05-30"),
        ("how many days from that date to 2025-12-25", "209 days from 2025-05-30 to 2025-12-25"),
        ("what weekday is 2025-01-01", "2025-01-01 is a Wednesday"),  # names its own date
    ],
)
def test_that_date_is_the_date_the_task_before_gave(question: str, output: str) -> None:
    req = TaskRequest(task_id="t2", description=question, upstream=_shifted("2025-05-30"))
    assert handler(req).output.startswith(output)


def test_an_upstream_date_is_taken_only_when_there_is_exactly_one() -> None:
    two = _shifted("2025-05-30") | {
        "t0": _shifted("2025-06-01")["t1"].model_copy(update={"task_id": "t0"})
    }
    failed = {"t1": _shifted("2025-05-30")["t1"].model_copy(update={"status": "failed"})}
    for upstream in (two, failed, {}):
        req = TaskRequest(task_id="t2", description="what weekday is that?", upstream=upstream)
        with pytest.raises(TaskRejected, match="found no date question"):
            handler(req)


@pytest.mark.parametrize(
    ("question", "day"),
    [
        ("what is the day after 2025-01-01", "2025-01-02"),
        ("the week before 2025-03-01", "2025-02-22"),
    ],
)
def test_the_day_after_is_one_day_after(question: str, day: str) -> None:
    """ "the day after 2025-01-01" once answered the weekday of 2025-01-01 itself."""
    assert answer(question)[1]["date"] == day

"""The new built-in agents inside a real mesh: planned, discovered and chained by results."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mesh import Mesh, Plan, Task

SALES = "region,product,revenue\nNorth,Widget,25\nSouth,Gadget,30\nNorth,Gadget,50\nEast,Gizmo,9\n"


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "site"
    root.mkdir()
    (root / "sales.csv").write_text(SALES)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_three_agents_with_a_dependency(mesh: Mesh, site: str) -> None:
    result = mesh.run(
        f"Fetch {site}/sales.csv, then find which region has the highest revenue"
        " and convert 5 miles to km"
    )
    agents = {task_id: r.agent for task_id, r in result.results.items()}
    assert agents == {"t1": "web-reader", "t2": "csv-analyst", "t3": "units"}
    assert result.plan.task("t2").depends_on == ["t1"]
    assert result.results["t2"].data["answer"] == "North"
    assert result.results["t2"].data["value"] == 75
    assert result.results["t3"].output == "5 mi = 8.04672 km"
    assert result.ok


def test_a_number_flows_from_the_calculator_to_the_units_agent(mesh: Mesh) -> None:
    result = mesh.run("Compute 12 * 5 then convert the result from km to miles")
    assert [r.agent for r in result.results.values()] == ["calculator", "units"]
    assert result.results["t2"].output == "60 km = 37.2822715342 mi"


def test_a_count_flows_from_the_text_agent_to_the_calculator(mesh: Mesh) -> None:
    result = mesh.run("Count the words in 'to be or not to be' and then multiply that number by 10")
    assert [r.agent for r in result.results.values()] == ["text", "calculator"]
    assert result.results["t2"].data["value"] == 60


@pytest.mark.parametrize(
    ("request_", "agents", "answer"),
    [
        # the text agent took "multiply the count by 250" and gave statistics of the count
        ("count the words in 'we shipped the new release on friday after a long week' and"
         " then multiply the count by 250", ["text", "calculator"], "2750"),
        # a rate per item: the calculator read no expression, and scored under the floor
        ("my airline allows 23 kg per bag and i'm checking 2 bags. whats the total? then"
         " convert that to pounds", ["calculator", "units"], "101.41"),
        # "split it equally between 4 bottles" was under the floor for every agent
        ("i have 5 US gallons of water. how many litres is that? then split it equally"
         " between 4 bottles", ["units", "calculator"], "4.73"),
    ],
)  # fmt: skip
def test_a_result_flows_to_the_calculator_in_the_words_people_use(
    mesh: Mesh, request_: str, agents: list[str], answer: str
) -> None:
    result = mesh.run(request_)
    assert result.ok and [r.agent for r in result.results.values()] == agents
    assert answer in result.answer


def test_a_reports_total_flows_to_the_calculator(mesh: Mesh) -> None:
    result = mesh.run(
        "Write a report on my monthly expenses: rent 1500, food 600, utilities 150."
        " Then multiply the total by 12 for the yearly figure."
    )
    assert [r.agent for r in result.results.values()] == ["report", "calculator"]
    assert result.results["t2"].data["value"] == 27000


def test_the_results_of_two_questions_are_combined(mesh: Mesh) -> None:
    result = mesh.run("What is 2**10, what is 3**5, and add the two results")
    assert [r.agent for r in result.results.values()] == ["calculator"] * 3
    assert result.plan.task("t3").depends_on == ["t1", "t2"]
    assert result.results["t3"].output == "(1024) + (243) = 1267"


def test_two_conversions_in_one_task_feed_both_results_to_the_next(mesh: Mesh) -> None:
    result = mesh.run("Convert 30 celsius to fahrenheit and 10 miles to km, then add both results")
    assert [r.agent for r in result.results.values()] == ["units", "calculator"]
    assert result.results["t2"].data["value"] == pytest.approx(86 + 16.09344)


@pytest.mark.parametrize(
    ("request_", "agents", "last"),
    [
        # a rate over a span is computed, in the rate's unit, and the total converted
        ("I run 5.5 km every day. How much is that over 30 days? Then convert the total"
         " to miles.", ["calculator", "units"], "165 km = 102.526"),
        # "those hours" is the unit of the count before
        ("From 2025-02-03 to 2025-06-30, how many days is that? Multiply it by 8 (hours per"
         " workday), then convert those hours to minutes.",
         ["dates", "calculator", "units"], "1176 h = 70560 min"),
        # a day count carries its unit: "convert that into hours" needs no "from days"
        ("i was born on 1990-05-17. how many days old will i be on 2025-05-17? convert that"
         " into hours", ["dates", "units"], "12784 day = 306816 h"),
        # an aside in brackets with figures of its own is not computed
        ("convert 3 miles into km, then multiply the result by 4 (I do that loop 4x a week)",
         ["units", "calculator"], "= 19.312128"),
    ],
)  # fmt: skip
def test_units_travel_with_the_numbers_between_agents(
    mesh: Mesh, request_: str, agents: list[str], last: str
) -> None:
    result = mesh.run(request_)
    assert [r.agent for r in result.results.values()] == agents
    assert result.ok and last in list(result.results.values())[-1].output


@pytest.mark.parametrize(
    ("request_", "answers"),
    [
        # asks that name no instruction, after "both:"; a yes/no question after "also,"
        ("pls do both: 72 kg in pounds, and the square root of 1764",
         {"units": "158.73", "calculator": "= 42"}),
        ("what is 2+2? also, is 2028 a leap year?", {"calculator": "= 4", "dates": "leap"}),
        # a statement with figures is the data of the question after it about the same thing
        ("contract starts 2025-11-20 and the trial is 45 days. what date does the trial end?",
         {"dates": "2026-01-04"}),
        # a monthly amount over a year; labelled figures after a noun phrase and a colon
        ("my rent is 1,450 a month. how much is that for a whole year",
         {"calculator": "= 17400"}),
        ("breakdown of Q3 costs: cloud 2,400, staff 9,000, travel 600.", {"report": "12000"}),
        # a figure quoted by the knowledge agent keeps the unit its sentence gives it
        ("what is the speed of light in metres per second? Then convert that to km/h.",
         {"knowledge": "299,792,458", "units": "= 1079252848.8 km/h"}),
    ],
)  # fmt: skip
def test_every_ask_reaches_an_agent_that_answers_it(
    mesh: Mesh, request_: str, answers: dict[str, str]
) -> None:
    result = mesh.run(request_)
    assert result.ok
    assert [r.agent for r in result.results.values()] == list(answers)
    for r, expected in zip(result.results.values(), answers.values(), strict=True):
        assert expected in r.output


def test_independent_questions_go_to_their_own_agents(mesh: Mesh) -> None:
    result = mesh.run(
        "How many days between 2024-01-01 and 2024-03-01? Convert 72 kg to pounds."
        " Convert this CSV to JSON: a,b\n1,2"
    )
    assert [r.agent for r in result.results.values()] == ["dates", "units", "transform"]
    assert result.results["t1"].data["days"] == 60


def test_a_failed_fetch_skips_what_depends_on_it(mesh: Mesh) -> None:
    result = mesh.run("Fetch http://127.0.0.1:9/sales.csv then compute the total revenue by region")
    assert result.results["t1"].status == "failed"
    assert "cannot reach http://127.0.0.1:9/sales.csv to fetch it" in (
        result.results["t1"].error or ""
    )
    assert result.results["t2"].status == "skipped"


def test_a_refusal_is_tried_once_and_a_refused_connection_again(mesh: Mesh) -> None:
    joke = mesh.execute(
        Plan(tasks=[Task(id="a", description="tell me a joke", agent="calculator")])
    )
    refused = joke.results["a"]
    assert (refused.status, refused.attempts) == ("failed", 1)
    assert (refused.error or "").startswith(
        "agent 'calculator': found no arithmetic expression in 'tell me a joke': give one"
    )
    url = "http://127.0.0.1:9/sales.csv"
    plan = Plan(tasks=[Task(id="b", description=f"fetch {url}", agent="web-reader")])
    down = mesh.execute(plan).results["b"]
    assert down.attempts == mesh.settings.max_attempts == 2
    assert f"cannot reach {url} to fetch it: could not connect" in (down.error or "")
    assert (down.error or "").endswith("(2 attempts)")


def test_the_rewording_a_refusal_suggests_works_on_the_same_mesh(mesh: Mesh) -> None:
    """Every candidate refused the first ask; none of them is ranked lower for it, so the
    ask their refusal suggests still reaches them."""
    refused = mesh.run("sum of 10, 20 and 30 miles in km")
    assert not refused.ok
    suggested = "the sum of 10, 20 and 30 miles, then convert that to km"
    assert f"e.g. '{suggested}'" in refused.answer
    done = mesh.run(suggested)
    assert done.ok, done.answer
    assert "60 mi = 96.56064 km (by units)" in done.answer


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        ("whats 250/0 lol", "division by zero in '250/0'"),
        ("what day of the week is 2025-02-30", "February 2025 has 28 days"),
        ('turn this JSON into CSV: [{"a": 1}, {"a": 2', "the data is not valid JSON"),
    ],
)
def test_a_wrong_input_is_refused_by_its_agent_alone(
    mesh: Mesh, request_: str, reason: str
) -> None:
    """The other candidates were tried after it, and their refusals ("found no URL in the
    task") stood beside the one that said what was wrong."""
    result = mesh.run(request_)
    (task,) = result.results.values()
    assert task.status == "failed"
    assert reason in (task.error or "")
    assert (task.error or "").count("agent '") == 1, task.error

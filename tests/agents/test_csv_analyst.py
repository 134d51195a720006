"""The CSV analyst: real pandas over real files, questions in words, files kept in bounds."""

from __future__ import annotations

from pathlib import Path

import pytest

from mesh.agents.csv_analyst import CsvAnalyst
from mesh.errors import TaskRejected
from mesh.models import TaskRequest, TaskResult

SALES = """date,region,product,units,unit_price,revenue
2024-01-05,North,Widget,10,2.5,25
2024-01-06,South,Gadget,3,10,30
2024-01-07,North,Gadget,5,10,50
2024-01-08,East,Widget,7,2.5,17.5
2024-01-09,South,Widget,12,2.5,30
2024-01-10,East,Gizmo,1,99,99
"""


@pytest.fixture
def analyst(tmp_path: Path) -> CsvAnalyst:
    root = tmp_path / "data"
    (root / "sub").mkdir(parents=True)
    (root / "sales.csv").write_text(SALES)
    (root / "sub" / "euro.csv").write_text("city;price\nParis;3,5\nRome;2\n")
    (tmp_path / "secret.csv").write_text("password\nhunter2\n")
    return CsvAnalyst(root)


def ask(analyst: CsvAnalyst, question: str, **kw: object) -> TaskResult:
    return analyst(TaskRequest(task_id="t", description=question, **kw))  # type: ignore[arg-type]


def test_total_by_group(analyst: CsvAnalyst) -> None:
    result = ask(analyst, "total revenue by region in sales.csv")
    assert result.data["result"] == [
        {"region": "East", "total revenue": 116.5},
        {"region": "North", "total revenue": 75},
        {"region": "South", "total revenue": 60},
    ]
    assert "| East | 116.5 |" in result.output
    assert result.data["csv"].splitlines()[0] == "region,total revenue"


@pytest.mark.parametrize(
    "question",
    [
        "break down revenue by region from sales.csv, just the totals",
        "revenue per region in sales.csv",
    ],
)
def test_a_measure_by_a_group_without_an_aggregate_is_its_total(
    analyst: CsvAnalyst, question: str
) -> None:
    """It was answered with a description of the whole table, reported as done."""
    result = ask(analyst, question)
    assert (result.data["operation"], result.data["by"]) == ("sum", "region")
    assert {r["region"]: r["total revenue"] for r in result.data["result"]}["East"] == 116.5


@pytest.mark.parametrize(
    ("question", "operation"),
    [
        ("how much revenue did the North come to altogether in sales.csv?", "sum"),
        ("how much revenue did the North bring in, in sales.csv", "sum"),  # was a row listing
        ("how much is the highest revenue in sales.csv", "max"),
    ],
)
def test_how_much_asks_for_a_total_unless_another_aggregate_is_named(
    analyst: CsvAnalyst, question: str, operation: str
) -> None:
    assert ask(analyst, question).data["operation"] == operation


def test_rows_by_a_group_without_a_measure_are_counted(analyst: CsvAnalyst) -> None:
    result = ask(analyst, "orders by region in sales.csv")
    assert result.data["operation"] == "count"
    assert sum(r["count"] for r in result.data["result"]) == result.data["rows"]


def test_average_per_group_matches_column_names_loosely(analyst: CsvAnalyst) -> None:
    result = ask(analyst, "average unit price per product in sales.csv")
    by_product = {r["product"]: r["average unit_price"] for r in result.data["result"]}
    assert by_product == {"Gadget": 10, "Gizmo": 99, "Widget": 2.5}


@pytest.mark.parametrize(
    "question",
    [
        "how many units has each region sold in total in sales.csv?",
        "sales.csv: every region's total units",
    ],
)
def test_each_or_every_names_the_grouping(analyst: CsvAnalyst, question: str) -> None:
    result = ask(analyst, question)
    assert result.data["by"] == "region"
    assert {r["region"]: r["total units"] for r in result.data["result"]} == {
        "East": 8, "North": 15, "South": 15,
    }  # fmt: skip


def test_filter_then_aggregate(analyst: CsvAnalyst) -> None:
    result = ask(analyst, "total units where revenue > 28 in sales.csv")
    assert result.data["value"] == 21
    assert result.data["matching_rows"] == 4
    counted = ask(analyst, "how many rows where region is north in sales.csv")
    assert counted.data["value"] == 2
    assert counted.output.startswith("2 of 6 rows where region = north")


@pytest.mark.parametrize(
    ("question", "value", "said"),
    [
        ("how many rows have revenue over 28 in sales.csv", 4, "revenue > 28"),
        ("total revenue of rows with units at least 7 in sales.csv", 72.5, "units >= 7"),
        ("average revenue for sales.csv rows with units below 5", 64.5, "units < 5"),
    ],
)
def test_a_comparison_without_where_filters(
    analyst: CsvAnalyst, question: str, value: float, said: str
) -> None:
    result = ask(analyst, question)
    assert (result.data["value"], result.data["filter"]) == (value, said)


def test_older_and_younger_compare_the_age_column(tmp_path: Path) -> None:
    (tmp_path / "people.csv").write_text("name,age\nAnn,34\nBob,45\nDan,38\nEve,31\n")
    older = ask(CsvAnalyst(tmp_path), "How many people in people.csv are older than 35?")
    assert (older.data["value"], older.data["filter"]) == (2, "age > 35")
    younger = ask(CsvAnalyst(tmp_path), "names in people.csv younger than 32")
    assert younger.data["matching_rows"] == 1


def test_a_column_named_by_its_usual_abbreviation_is_that_column(tmp_path: Path) -> None:
    (tmp_path / "staff.csv").write_text(
        "name,department,salary\nAnn,Eng,85000\nBob,Sales,52000\nCara,Eng,95000\n"
    )
    result = ask(CsvAnalyst(tmp_path), "avg salary per dept in staff.csv")
    assert (result.data["operation"], result.data["by"]) == ("mean", "department")
    assert result.data["result"] == [
        {"department": "Eng", "average salary": 90000},
        {"department": "Sales", "average salary": 52000},
    ]


@pytest.mark.parametrize(
    ("question", "by", "measure"),
    [
        ("total revenu per region in sales.csv pls", "region", "total revenue"),
        ("sum of revenue by regon in sales.csv", "region", "total revenue"),
    ],
)
def test_a_column_typed_with_a_letter_missing_is_that_column(
    tmp_path: Path, question: str, by: str, measure: str
) -> None:
    """ "revenu" was refused: "say which column to take the total of"."""
    (tmp_path / "sales.csv").write_text(
        "region,units,revenue\nNorth,12,240\nSouth,8,160\nNorth,5,375\n"
    )
    result = ask(CsvAnalyst(tmp_path), question)
    assert result.data["by"] == by
    assert result.data["result"] == [{by: "North", measure: 615}, {by: "South", measure: 160}]


def test_a_short_word_with_a_letter_missing_is_no_column(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("state,units\nA,1\nB,2\n")
    with pytest.raises(TaskRejected):
        ask(CsvAnalyst(tmp_path), "total of the unts in t.csv")


@pytest.mark.parametrize(
    ("table", "question", "column", "value"),
    [
        ("name,salary,age\nAnn,85000,34\nCara,95000,29\n", "who earns the most", "salary", 95000),
        ("order_id,status,amount\n1,new,120.5\n4,done,300\n", "the biggest order", "amount", 300),
    ],
)
def test_a_measure_implied_by_the_words_or_the_only_one(
    tmp_path: Path, table: str, question: str, column: str, value: int
) -> None:
    (tmp_path / "t.csv").write_text(table)
    result = ask(CsvAnalyst(tmp_path), f"{question} in t.csv")
    assert (result.data["column"], result.data["value"]) == (column, value)


def test_a_measure_the_table_lacks_is_refused_not_replaced(tmp_path: Path) -> None:
    """ "the average bonus paid out" gave the average salary ("paid" implies a salary)."""
    (tmp_path / "staff.csv").write_text("name,salary\nAnn,85000\nCara,95000\n")
    with pytest.raises(TaskRejected, match="no column 'bonus' to take the average of"):
        ask(CsvAnalyst(tmp_path), "what's the average bonus paid out in staff.csv")
    spend = ask(CsvAnalyst(tmp_path), "the total pay of all staff in staff.csv")
    assert (spend.data["column"], spend.data["value"]) == ("salary", 180000)


def test_in_total_is_how_not_what_to_total(tmp_path: Path) -> None:
    """ "in total according to" was refused: "according" read as the column to total."""
    (tmp_path / "orders.csv").write_text("customer,amount\nacme,100.5\nzeta,7\nacme,80.25\n")
    spent = ask(CsvAnalyst(tmp_path), "How much has acme spent in total according to orders.csv?")
    assert (spent.data["column"], spent.data["value"]) == ("amount", 180.75)


@pytest.mark.parametrize(
    ("question", "operation", "value"),
    [
        ("whats the averge revenue in sales.csv", "mean", 41.916666666666664),
        ("the medain units in sales.csv", "median", 6.0),
        ("the higest revenue in sales.csv", "max", 99),
    ],
)
def test_a_misspelt_statistic_is_still_that_statistic(
    analyst: CsvAnalyst, question: str, operation: str, value: float
) -> None:
    """ "whats the averge salary for Engineering" listed the engineers instead."""
    result = ask(analyst, question)
    assert (result.data["operation"], result.data["value"]) == (operation, value)


def test_a_measure_is_not_guessed_among_several(analyst: CsvAnalyst) -> None:
    with pytest.raises(TaskRejected, match="say which column to take the max of"):
        ask(analyst, "what's the biggest sale in sales.csv")


def test_a_comparison_naming_no_column_is_refused_not_ignored(analyst: CsvAnalyst) -> None:
    """It used to count every row: "how many sales earn more than 28" gave 6."""
    with pytest.raises(TaskRejected, match="which column 'more than 28' compares"):
        ask(analyst, "how many sales in sales.csv earn more than 28")


def test_a_value_named_in_the_question_filters_on_its_column(analyst: CsvAnalyst) -> None:
    widgets = ask(analyst, "how many widgets were sold in sales.csv? count the rows")
    assert widgets.data["filter"] == "product = widget" and widgets.data["value"] == 3
    both = ask(analyst, "total revenue of gadgets in the south in sales.csv")
    assert both.data["filter"] == "product = gadget and region = south"
    assert both.data["value"] == 30


def test_a_value_of_several_words_is_named_too(analyst: CsvAnalyst) -> None:
    table = "city,sales\nNew York,10\nYork,4\nNew York,5\n"
    result = ask(analyst, "total sales in new york", inputs={"csv": table})
    assert result.data["filter"] == "city = new york" and result.data["value"] == 15


def test_values_that_could_mean_two_things_filter_nothing(analyst: CsvAnalyst) -> None:
    either = ask(analyst, "total revenue for north or south in sales.csv")  # one column, twice
    assert "filter" not in either.data and either.data["value"] == 251.5


def test_which_group_wins(analyst: CsvAnalyst) -> None:
    result = ask(analyst, "which region has the highest revenue in sales.csv")
    assert result.output.startswith("East has the highest total revenue: 116.5")
    cheapest = ask(analyst, "which product has the lowest average unit price in sales.csv")
    assert cheapest.data["answer"] == "Widget"


def test_top_n(analyst: CsvAnalyst) -> None:
    result = ask(analyst, "top 2 products by revenue in sales.csv")
    assert [r["product"] for r in result.data["result"]] == ["Gizmo", "Gadget"]
    rows = ask(analyst, "top 2 rows by units in sales.csv")
    assert [r["units"] for r in rows.data["result"]] == [12, 10]


def test_max_names_the_row(analyst: CsvAnalyst) -> None:
    result = ask(analyst, "max revenue in sales.csv")
    assert result.data["value"] == 99
    assert result.data["row"]["product"] == "Gizmo"


@pytest.mark.parametrize("sep", [":\n", "\n"])
def test_a_table_in_the_ask_is_not_read_as_part_of_the_question(
    analyst: CsvAnalyst, sep: str
) -> None:
    """ "Ann" in the pasted rows filtered the table to her row: 10, reported as done."""
    result = ask(
        analyst, f"what is the average salary in this table{sep}name,salary\nAnn,10\nBo,20"
    )
    assert (result.data["value"], result.data["source"]) == (15, "the task description")
    assert "filter" not in result.data


def test_describe_without_a_question(analyst: CsvAnalyst) -> None:
    result = ask(analyst, "describe sales.csv")
    assert result.output.startswith("6 rows × 6 columns")
    kinds = {c["name"]: c["type"] for c in result.data["columns"]}
    assert kinds["revenue"] == "number" and kinds["region"] == "text"


def test_semicolon_files_in_subfolders(analyst: CsvAnalyst) -> None:
    result = ask(analyst, "describe sub/euro.csv")
    assert result.data["rows"] == 2
    assert [c["name"] for c in result.data["columns"]] == ["city", "price"]


def test_table_from_inputs_description_or_upstream(analyst: CsvAnalyst) -> None:
    assert ask(analyst, "total units", inputs={"csv": SALES}).data["value"] == 38
    assert ask(analyst, "sum of b:\na,b\nx,1\ny,2").data["value"] == 3
    fetched = TaskResult(task_id="t1", status="succeeded", output="...", data={"csv": SALES})
    assert ask(analyst, "total units", upstream={"t1": fetched}).data["value"] == 38


def test_json_records_from_the_task_before_are_a_table(analyst: CsvAnalyst) -> None:
    """The transform agent passes records on as JSON: "average of their prices" after
    "keep the first 2" failed as "cannot read the table … as CSV"."""
    records = '[{"product": "c", "price": 20}, {"product": "a", "price": 12.5}]'
    kept = TaskResult(task_id="t1", status="succeeded", output=records, data={})
    assert ask(analyst, "average price", upstream={"t1": kept}).data["value"] == 16.25
    listed = TaskResult(task_id="t1", status="succeeded", output="[1, 2]", data={})
    with pytest.raises(TaskRejected, match="must be an array of objects"):
        ask(analyst, "average price", upstream={"t1": listed})


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("median revenue in ../secret.csv", "outside the data folder"),
        ("median revenue in missing.csv", r"no CSV file 'missing.csv' under .*not found\): put it"),
        ("total region in sales.csv", "column 'region' holds text"),
        ("total revenue", "no table to analyse"),
        ("total revenue where region is in sales.csv", "could not read the condition"),
    ],
)
def test_refusals_say_what_was_wrong(analyst: CsvAnalyst, question: str, message: str) -> None:
    with pytest.raises(TaskRejected, match=message):
        ask(analyst, question)


def test_symlinks_out_of_the_root_are_refused(analyst: CsvAnalyst, tmp_path: Path) -> None:
    (analyst.root / "link.csv").symlink_to(tmp_path / "secret.csv")
    with pytest.raises(TaskRejected, match="outside the data folder"):
        ask(analyst, "describe link.csv")


def test_broken_csv_is_reported(analyst: CsvAnalyst) -> None:
    with pytest.raises(TaskRejected, match="cannot read the table"):
        ask(analyst, "describe", inputs={"csv": 'a,b\n1,2\n"unclosed,3\n'})
    with pytest.raises(TaskRejected, match="repeats column names"):
        ask(analyst, "describe", inputs={"csv": "a,a\n1,2\n"})

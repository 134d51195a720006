"""The transform agent: JSON ⇄ CSV and record reshaping, values kept exactly."""

from __future__ import annotations

import csv
import io
import json

import pytest

from mesh.agents.transform import handler, read_csv, write_csv
from mesh.errors import TaskRejected
from mesh.models import TaskRequest, TaskResult

PEOPLE = "name,age,city\nAnn,31,Paris\nBob,25,\nCy,40,Oslo"


def run(description: str, **kw: object) -> TaskResult:
    return handler(TaskRequest(task_id="t", description=description, **kw))  # type: ignore[arg-type]


def test_csv_to_json_types_numbers_and_empty_cells() -> None:
    result = run(f"convert this CSV to JSON:\n{PEOPLE}")
    assert json.loads(result.output) == [
        {"name": "Ann", "age": 31, "city": "Paris"},
        {"name": "Bob", "age": 25, "city": None},
        {"name": "Cy", "age": 40, "city": "Oslo"},
    ]
    assert result.data["records"] == 3


def test_leading_zeros_and_long_digit_strings_stay_text() -> None:
    records = read_csv("zip,id\n01234,123456789012345678901234\n")
    assert records == [{"zip": "01234", "id": "123456789012345678901234"}]


def test_json_to_csv_keeps_nested_values_as_json() -> None:
    data = [{"name": "Ann", "tags": ["a", "b"]}, {"name": "Bob", "admin": True}]
    result = run(f"convert to CSV: {json.dumps(data)}")
    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows == [["name", "tags", "admin"], ["Ann", '["a", "b"]', ""], ["Bob", "", "true"]]
    assert result.data["csv"].strip() == result.output


def test_select_sort_filter_rename_limit() -> None:
    picked = run(f"keep only name and age, sorted by age descending, as JSON:\n{PEOPLE}")
    assert json.loads(picked.output) == [
        {"name": "Cy", "age": 40},
        {"name": "Ann", "age": 31},
        {"name": "Bob", "age": 25},
    ]
    filtered = run(f"filter the records where age > 30 and output CSV:\n{PEOPLE}")
    assert filtered.output.splitlines() == ["name,age,city", "Ann,31,Paris", "Cy,40,Oslo"]
    renamed = run('rename name to full_name: [{"name": "Ann", "age": 1}]')
    assert json.loads(renamed.output) == [{"full_name": "Ann", "age": 1}]
    first = run(f"first 1 record as JSON:\n{PEOPLE}")
    assert len(json.loads(first.output)) == 1
    dropped = run(f"drop city and output CSV:\n{PEOPLE}")
    assert dropped.output.splitlines()[0] == "name,age"


def test_sort_these_by_a_field() -> None:
    out = run(f"Sort these by age descending and give me CSV:\n{PEOPLE}").output
    assert [row["name"] for row in csv.DictReader(io.StringIO(out))] == ["Cy", "Ann", "Bob"]


def test_round_trip_is_lossless() -> None:
    records = read_csv(PEOPLE)
    assert read_csv(write_csv(records)) == records


def test_works_on_the_upstream_result() -> None:
    upstream = {
        "t1": TaskResult(task_id="t1", status="succeeded", data={"csv": "region,total\nEast,1.5\n"})
    }
    result = run("convert the result to JSON", upstream=upstream)
    assert json.loads(result.output) == [{"region": "East", "total": 1.5}]


def test_pretty_prints_json() -> None:
    result = run('format this JSON: {"a":{"b":[1,2]}}')
    assert result.output == json.dumps({"a": {"b": [1, 2]}}, indent=2)


@pytest.mark.parametrize(
    ("description", "message"),
    [
        ('convert to CSV: {"a": 1', "not valid JSON: Expecting ',' delimiter at line 1"),
        ("convert to CSV: [1, 2, 3]", "must be an array of objects"),
        ("convert to json:\na,b\n1,2,3", "CSV line 2 has 3 cells but the header has 2"),
        ("convert to json:\na,a\n1,2", "unique, non-empty column names"),
        ('transform {"a": 1}', "say what to do with the JSON"),
        ("convert it to JSON", "no data to transform"),
        (f"sort by colour as JSON:\n{PEOPLE}", "say which field to sort by"),
        # a sort it cannot read is refused, not dropped while the format is applied
        (f"sort them alphabetically and give me CSV:\n{PEOPLE}", "could not read how to sort"),
    ],
)
def test_bad_data_is_refused_with_the_reason(description: str, message: str) -> None:
    with pytest.raises(TaskRejected, match=message):
        run(description)


def test_with_only_some_columns_keeps_those_and_only_rows_is_no_field() -> None:
    rows = (
        '[{"name": "Lea", "age": 29, "city": "Lyon"}, {"name": "Tom", "age": 41, "city": "Bonn"}]'
    )
    kept = run(f"convert this JSON to CSV with only the name and city columns: {rows}")
    assert kept.output.splitlines() == ["name,city", "Lea,Lyon", "Tom,Bonn"]
    first = run(f"convert only the first 1 rows to CSV: {rows}")
    assert first.output.splitlines() == ["name,age,city", "Lea,29,Lyon"]


ITEMS = '[{"item": "pens", "qty": 12}, {"item": "ink", "qty": 3}, {"item": "pads", "qty": 7}]'


@pytest.mark.parametrize(
    "asked",
    [
        # "5:" was the value, compared as text: "12" < "5:", so pens was dropped silently
        "Filter these records to the ones where qty > 5:",
        "keep the records where qty > 5:",  # was "say which fields to keep"
        "keep rows where qty > 5:",
    ],
)
def test_a_filter_before_the_data_keeps_the_matching_records(asked: str) -> None:
    assert [r["item"] for r in json.loads(run(f"{asked} {ITEMS}").output)] == ["pens", "pads"]


@pytest.mark.parametrize(
    "asked", ["sort by qty descending and keep the first 2 records", "keep only the top 2"]
)
def test_keep_the_first_n_records_takes_them_and_names_no_field(asked: str) -> None:
    """ "keep the first 2 records" was read as fields to keep: "say which fields to keep"."""
    kept = json.loads(run(f"{asked}: {ITEMS}").output)
    assert len(kept) == 2 and all(set(r) == {"item", "qty"} for r in kept)
    if "qty" in asked:
        assert [r["item"] for r in kept] == ["pens", "pads"]


def test_a_field_and_a_filter_are_both_applied() -> None:
    assert json.loads(run(f"keep only item where qty > 5: {ITEMS}").output) == [
        {"item": "pens"},
        {"item": "pads"},
    ]


def test_numbers_compared_with_words_are_refused() -> None:
    with pytest.raises(TaskRejected, match="qty holds numbers and 'lots' is not one"):
        run(f"filter where qty > lots: {ITEMS}")


@pytest.mark.parametrize("asked", ["keep the records where qty > 5 and give me CSV:", "as a CSV:"])
def test_the_format_asked_for_in_other_words_is_written(asked: str) -> None:
    assert run(f"{asked} {ITEMS}").data["format"] == "csv"


def test_json_in_the_middle_of_a_sentence_is_read_up_to_its_end() -> None:
    """ "turn [...] into CSV" was read as "[...] into CSV": not valid JSON."""
    result = run('Two things: turn [{"sku": "A1", "qty": 4}, {"sku": "B2", "qty": 9}] into CSV')
    assert result.output.splitlines() == ["sku,qty", "A1,4", "B2,9"]


def test_a_table_on_the_lines_after_the_ask_is_the_data() -> None:
    """Pasted below the ask without a colon it was "no data to transform"."""
    result = run("convert this csv to json pls\nname,city\nLea,Oslo\nTom,Rome")
    assert json.loads(result.output) == [
        {"name": "Lea", "city": "Oslo"},
        {"name": "Tom", "city": "Rome"},
    ]


def test_instructions_after_the_data_are_applied() -> None:
    """The filter after the JSON was ignored (the JSON was even read with it: "Extra
    data"), and all three records came back as if filtered."""
    result = run(
        'got this from our api:\n[{"name": "Lena", "age": 29}, {"name": "Marco", "age": 41},'
        ' {"name": "Ines", "age": 35}]\nfilter the records where age > 30 and output CSV,'
        " oldest first"
    )
    assert result.output.splitlines() == ["name,age", "Marco,41", "Ines,35"]


@pytest.mark.parametrize(
    ("asked", "order"),
    [
        ("cheapest first", ["b", "a", "c"]),
        ("most expensive first", ["c", "a", "b"]),
        ("lowest qty first", ["c", "b", "a"]),
    ],
)
def test_a_superlative_first_sorts_by_its_field(asked: str, order: list[str]) -> None:
    data = '[{"sku": "a", "price": 5, "qty": 9}, {"sku": "b", "price": 2, "qty": 4},'
    data += ' {"sku": "c", "price": 8, "qty": 1}]'
    result = run(f"as CSV, {asked}: {data}")
    assert [line.split(",")[0] for line in result.output.splitlines()[1:]] == order


def test_a_superlative_without_a_field_for_it_is_refused_not_ignored() -> None:
    with pytest.raises(TaskRejected, match="say which field to sort by"):
        run('as CSV, youngest first: [{"sku": "a", "qty": 5}, {"sku": "b", "qty": 2}]')

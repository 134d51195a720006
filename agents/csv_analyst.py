"""The CSV analyst: answers questions about a table with pandas.

The table comes from `inputs["csv"]` (text) or `inputs["path"]`, a ``*.csv``/``*.tsv``
path named in the task (only under the analyst's root folder, so a chat user cannot
read arbitrary files), CSV after a colon or in a ``` fence, or the output of a task this
one depends on (e.g. the web reader fetching a CSV). The question is read from words:
an aggregate (total, average, median, max, min, count, distinct, most common), a column,
a grouping ("by region", "per product"), a filter ("where region is north", "where
units > 10") and "top N … by COLUMN". With none of these it describes the table.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from mesh.agents._frames import (
    describe_table,
    implied_measure,
    kind_of,
    named_values,
    plain,
    read_table,
    respelt,
)
from mesh.agents._tabular import (
    Condition,
    check_comparisons_read,
    column_after,
    inline_table,
    markdown_table,
    mentions,
    parse_condition,
    show,
    upstream_table,
)
from mesh.errors import TaskRejected
from mesh.models import AgentCard, Skill, TaskRequest, TaskResult

MAX_FILE_BYTES = 20_000_000
_PATH = re.compile(r"(?<![\w/.])((?:[\w.\-]+/)*[\w.\-]+\.(?:csv|tsv))\b", re.I)
_AGGREGATES = [
    ("mode", r"\bmost\s+(?:common|frequent)\b"),
    ("nunique", r"\b(?:distinct|unique)\b"),
    ("mean", r"\b(?:average|mean|avg)\b"),
    ("median", r"\bmedian\b"),
    ("std", r"\b(?:standard\s+deviation|std)\b"),
    ("sum", r"\b(?:total|sum|add\s+up|altogether|combined|c[oa]me\s+to)\b"),
    ("max", r"\b(?:max(?:imum)?|highest|largest|biggest|greatest|most)\b"),
    ("min", r"\b(?:min(?:imum)?|lowest|smallest|least|fewest)\b"),
    ("count", r"\b(?:count|number\s+of|how\s+many)\b"),
]
_WORDS = {"sum": "total", "mean": "average", "nunique": "distinct", "mode": "most common"}
_TOP = re.compile(r"\b(top|bottom|first|last)\s+(\d{1,4})\b", re.I)
_INLINE = "the task description"
_GROUP = r"\b(?:by|per|for\s+each|for\s+every|in\s+each|grouped\s+by|across|each|every)"


class CsvAnalyst:
    """The analyst's handler, reading files only from under `root`."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root or Path.cwd()).resolve()

    def __call__(self, req: TaskRequest) -> TaskResult:
        frame, source = self.load(req)
        question = req.description  # without a table it carries: "Ann" there is no filter
        if source == _INLINE:
            question = question.replace(inline_table(question) or "", " ")
        output, data = analyse(frame, question)
        data["source"] = source
        return TaskResult(
            task_id=req.task_id,
            status="succeeded",
            agent="csv-analyst",
            output=output,
            data=data,
        )

    def load(self, req: TaskRequest) -> tuple[pd.DataFrame, str]:
        """The table the task is about, and where it came from."""
        text = req.inputs.get("csv")
        if isinstance(text, str) and text.strip():
            return read_table(text, "inputs['csv']"), "inputs['csv']"
        path = req.inputs.get("path")
        named = _PATH.search(req.description)
        if path or named:
            resolved = self.resolve(str(path or (named[1] if named else "")))
            return read_table(_read_file(resolved), str(resolved)), str(resolved)
        inline = inline_table(req.description)
        if inline and inline[:1] not in "[{":
            return read_table(inline, _INLINE), _INLINE
        upstream = upstream_table(req.upstream, ("csv", "text"))
        if upstream:
            return read_table(upstream, "the upstream result"), "upstream"
        raise TaskRejected(
            "no table to analyse: name a .csv file under"
            f" {self.root}, put CSV after a colon, pass inputs={{'csv': ...}}, or depend on a"
            " task that fetches one"
        )

    def resolve(self, name: str) -> Path:
        """`name` under the root; anything that escapes it (.., absolute, links) is refused."""
        path = (self.root / name).resolve()
        if not path.is_relative_to(self.root):
            raise TaskRejected(f"{name!r} is outside the data folder {self.root}: refused")
        if path.suffix.lower() not in (".csv", ".tsv"):
            raise TaskRejected(f"{name!r} is not a .csv or .tsv file")
        if not path.is_file():
            raise TaskRejected(
                f"no CSV file {name!r} under {self.root} (file not found): put it in that"
                " folder, or pass the table with inputs={'csv': ...}"
            )
        return path


def _read_file(path: Path) -> str:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise TaskRejected(f"{path.name} has {size:,} bytes, over the {MAX_FILE_BYTES:,} limit")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise TaskRejected(f"{path.name} is not UTF-8 text: save it as UTF-8 CSV") from None


def _aggregate_word(text: str) -> str | None:
    for name, pattern in _AGGREGATES:
        if re.search(pattern, text, re.I):
            return name
    return "sum" if re.search(r"\bhow\s+much\b", text, re.I) else None  # "how much did … spend"


def _filter(frame: pd.DataFrame, condition: Condition) -> pd.DataFrame:
    series = frame[condition.column]
    target = condition.number
    if target is not None and pd.api.types.is_numeric_dtype(series):
        ops = {">": series > target, "<": series < target, ">=": series >= target}
        ops |= {"<=": series <= target, "=": series == target, "!=": series != target}
        return frame[ops[condition.op]]
    mask = series.map(condition.holds)
    return frame[mask.astype(bool)]


def _numeric(frame: pd.DataFrame, column: str, aggregate: str) -> pd.Series:
    series = frame[column]
    if aggregate in ("count", "nunique", "mode") or pd.api.types.is_numeric_dtype(series):
        return series
    raise TaskRejected(
        f"column {column!r} holds text, so it has no {_WORDS.get(aggregate, aggregate)}: pick a"
        f" numeric column ({', '.join(_numeric_columns(frame)) or 'there are none'})"
    )


def _numeric_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if kind_of(frame[c]) == "number"]


def _measure(found: list[str], exclude: set[str], frame: pd.DataFrame, aggregate: str) -> str:
    candidates = [c for c in found if c not in exclude]
    numeric = [c for c in candidates if kind_of(frame[c]) == "number"]
    if aggregate in ("count", "nunique", "mode"):
        return (candidates or [""])[0]
    if numeric or candidates:
        return (numeric or candidates)[0]
    raise TaskRejected(
        f"say which column to take the {_WORDS.get(aggregate, aggregate)} of: the table has"
        f" {', '.join(map(str, frame.columns))}"
    )


def analyse(frame: pd.DataFrame, description: str) -> tuple[str, dict[str, Any]]:
    """Answer the question in `description` about `frame`: (text for people, data)."""
    columns = [str(c) for c in frame.columns]
    question = respelt(_PATH.sub(" ", description))
    stated = parse_condition(question, columns)
    conditions = [stated] if stated else named_values(frame, question)
    condition = conditions[-1] if conditions else None
    data: dict[str, Any] = {"rows": len(frame)}
    prefix = ""
    if conditions:
        said = " and ".join(c.describe() for c in conditions)
        for cond in sorted(conditions, key=lambda c: -c.span[0]):  # cut spans from the end
            frame = _filter(frame, cond)
            question = question[: cond.span[0]] + " " + question[cond.span[1] :]
        data |= {"filter": said, "matching_rows": len(frame)}
        prefix = f"{len(frame):,} of {data['rows']:,} rows where {said}. "
    check_comparisons_read(question, (_numeric_columns(frame) or ["amount"])[0])
    found = [c for _, _, c in mentions(question, columns)]
    if not any(kind_of(frame[c]) == "number" for c in found):
        found += [c for c in [implied_measure(description, frame)] if c]
    aggregate = _aggregate_word(question)
    top = _TOP.search(question)
    if top:
        output, ranked = _top(frame, question, found, aggregate, top)
        return prefix + output, data | ranked
    group = column_after(question, _GROUP, columns)
    which = column_after(question, r"\b(?:which|what)", columns)
    extreme = next(
        (n for n, p in _AGGREGATES if n in ("max", "min") and re.search(p, question, re.I)), None
    )
    if which and extreme and not group:
        return _which(frame, question, which, found, extreme, prefix, data)
    if aggregate is None and group:  # "break down revenue by product": a pivot's total
        numeric = [c for c in found if c != group and kind_of(frame[c]) == "number"]
        aggregate = "sum" if numeric else "count"
    if aggregate is None:
        if condition:
            table = markdown_table(columns, frame.values.tolist())
            return prefix + "\n\n" + table, data | {"operation": "filter", "csv": _csv(frame)}
        output, described = describe_table(frame)
        return output, data | described
    exclude = {group} if group else set()
    if condition and aggregate in ("count", "nunique", "mode"):
        exclude.add(condition.column)
    measure = _measure(found, exclude, frame, aggregate)
    if group:
        return _grouped(frame, group, measure, aggregate, prefix, data)
    value = _scalar(frame, measure, aggregate)
    label = f"{_WORDS.get(aggregate, aggregate)} {measure}".strip()
    if aggregate == "count" and not measure:
        label = "number of rows"
    output = f"{prefix}{label}: {show(value)}"
    result: dict[str, Any] = {"operation": aggregate, "column": measure, "value": value}
    if aggregate in ("max", "min") and len(frame):
        series = _numeric(frame, measure, aggregate)
        row = frame.loc[series.idxmax() if aggregate == "max" else series.idxmin()]
        others = {str(k): plain(v) for k, v in row.items() if k != measure}
        result["row"] = others
        output += " (" + ", ".join(f"{k}: {show(v)}" for k, v in others.items()) + ")"
    return output, data | result


def _scalar(frame: pd.DataFrame, column: str, aggregate: str) -> Any:
    if aggregate == "count":
        return len(frame) if not column else int(frame[column].notna().sum())
    series = _numeric(frame, column, aggregate)
    if aggregate == "sum":
        return plain(series.sum())
    if series.dropna().empty:
        raise TaskRejected(f"no values in column {column!r} to take the {aggregate} of")
    if aggregate == "mode":
        return plain(series.mode().iloc[0])
    return plain(getattr(series, aggregate)())


def _grouped(
    frame: pd.DataFrame,
    group: str,
    measure: str,
    aggregate: str,
    prefix: str,
    data: dict[str, Any],
) -> tuple[str, dict[str, Any]]:
    if aggregate == "count" or not measure:
        table = frame.groupby(group, sort=True).size()
        name = "count"
    else:
        _numeric(frame, measure, aggregate)
        grouped = frame.groupby(group, sort=True)[measure]
        table = (
            grouped.agg(lambda s: s.mode().iloc[0])
            if aggregate == "mode"
            else getattr(grouped, aggregate)()
        )
        name = f"{_WORDS.get(aggregate, aggregate)} {measure}"
    records = [{group: plain(k), name: plain(v)} for k, v in table.items()]
    output = f"{prefix}{name} by {group}:\n\n" + markdown_table(
        [group, name], [[r[group], r[name]] for r in records]
    )
    result = {"operation": aggregate, "column": measure, "by": group, "result": records}
    return output, data | result | {"csv": _csv(pd.DataFrame(records))}


def _which(
    frame: pd.DataFrame,
    question: str,
    which: str,
    found: list[str],
    aggregate: str,
    prefix: str,
    data: dict[str, Any],
) -> tuple[str, dict[str, Any]]:
    """ "which region has the highest revenue": the group whose total (or average) wins."""
    measure = _measure(found, {which}, frame, "sum")
    how = "mean" if re.search(r"\b(?:average|mean|avg)\b", question, re.I) else "sum"
    _numeric(frame, measure, how)
    totals = getattr(frame.groupby(which)[measure], how)()
    if totals.empty:
        raise TaskRejected(f"no rows left to compare {which} by {measure}")
    best = totals.idxmax() if aggregate == "max" else totals.idxmin()
    name = f"{_WORDS[how]} {measure}"
    word = "highest" if aggregate == "max" else "lowest"
    records = [{which: plain(k), name: plain(v)} for k, v in totals.items()]
    output = f"{prefix}{show(plain(best))} has the {word} {name}: {show(plain(totals[best]))}\n\n"
    output += markdown_table([which, name], [[r[which], r[name]] for r in records])
    result: dict[str, Any] = {"operation": f"which-{aggregate}", "by": which, "column": measure}
    result |= {"answer": plain(best), "value": plain(totals[best]), "result": records}
    return output, data | result


def _top(
    frame: pd.DataFrame,
    question: str,
    found: list[str],
    aggregate: str | None,
    top: re.Match[str],
) -> tuple[str, dict[str, Any]]:
    count = int(top[2])
    columns = [str(c) for c in frame.columns]
    key = column_after(question, r"\bby", columns)
    label = column_after(question, rf"\b{top[1]}\s+{top[2]}", columns)
    if key is None:
        numeric = [c for c in found if kind_of(frame[c]) == "number" and c != label]
        if not numeric:
            raise TaskRejected(f"say what to rank by, e.g. '{top[0]} products by revenue'")
        key = numeric[0]
    _numeric(frame, key, "max")
    ascending = top[1].lower() in ("bottom", "last")
    if label and label != key and (aggregate or frame[label].duplicated().any()):
        how = aggregate if aggregate in ("sum", "mean", "median", "max", "min") else "sum"
        ranked = getattr(frame.groupby(label)[key], how)().sort_values(ascending=ascending)
        name = f"{_WORDS.get(how, how)} {key}"
        records = [{label: plain(k), name: plain(v)} for k, v in ranked.head(count).items()]
        headers = [label, name]
    else:
        ordered = frame.sort_values(key, ascending=ascending, kind="stable").head(count)
        records = [{str(k): plain(v) for k, v in row.items()} for _, row in ordered.iterrows()]
        headers = columns
    what = f"{label}s by {headers[-1]}" if headers != columns else f"rows by {key}"
    output = f"{top[1].lower()} {len(records)} {what}:\n\n" + markdown_table(
        headers, [[r[h] for h in headers] for r in records]
    )
    data = {"operation": "top", "by": key, "result": records}
    return output, data | {"csv": _csv(pd.DataFrame(records, columns=headers))}


def _csv(frame: pd.DataFrame) -> str:
    return str(frame.to_csv(index=False))


CSV_ANALYST_CARD = AgentCard(
    name="csv-analyst",
    description=(
        "Data analysis over CSV files and tables with pandas: totals, averages, medians,"
        " minimum and maximum, counts, group-by summaries, filters and top-N rankings."
    ),
    tags=["data", "csv", "analysis", "pandas", "statistics", "table"],
    skills=[
        Skill(
            name="aggregate",
            description=(
                "Total, average, median, min, max or count of a column of a CSV table,"
                " optionally grouped by another column and filtered by a condition."
            ),
            tags=["csv", "group-by", "sum", "average", "table"],
            examples=[
                "total revenue by region in sales.csv",
                "average price per category in data/products.csv",
                "how many orders where status is shipped in orders.csv",
                "analyse the CSV: total units by product",
            ],
        ),
        Skill(
            name="rank-and-describe",
            description=(
                "Top or bottom N rows or groups of a table by a column; describe a CSV file's"
                " columns, types and ranges."
            ),
            tags=["csv", "top-n", "describe", "data"],
            examples=[
                "top 3 products by revenue in sales.csv",
                "describe the columns of sales.csv",
                "which region has the highest total revenue in the CSV",
            ],
        ),
    ],
)

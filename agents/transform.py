"""The transform agent: reshapes JSON and CSV data without changing a value.

It converts CSV to JSON (numbers become numbers, empty cells null) and JSON to CSV
(nested values kept as JSON text), keeps or drops fields, filters rows ("where age > 30"),
sorts ("sort by age descending"), renames ("rename name to full_name"), takes the first
N records, and pretty-prints or validates JSON. The data comes from `inputs["data"]`, a
``` fence, the text after the description's first colon, or the task it depends on.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from mesh.agents._tabular import (
    MAX_SHOWN_ROWS,
    Record,
    check_size,
    inline_table,
    json_prefix,
    mentions,
    parse_condition,
    sniff_delimiter,
    to_records,
    upstream_table,
)
from mesh.errors import InvalidInput, TaskRejected
from mesh.models import AgentCard, Skill, TaskRequest, TaskResult

_INT = re.compile(r"^-?(?:0|[1-9]\d{0,17})$")
_FLOAT = re.compile(r"^-?(?:0|[1-9]\d*)?\.\d+(?:[eE][-+]?\d+)?$|^-?(?:0|[1-9]\d*)[eE][-+]?\d+$")
_TARGET = re.compile(
    r"\b(?:to|as|into|in|output|return|give|send|want)\s+(?:(?:me|us|it|them|back)\s+)?"
    r"(?:an?\s+)?(json|csv)\b",
    re.I,
)
_SELECT = re.compile(r"\b(?:select|keep(?:\s+only)?|only\s+keep|pick|project)\b(?P<rest>.*)", re.I)
_ONLY = re.compile(r"\b(?:with\s+)?only\s+(?P<rest>.*)", re.I)  # "with only the name column"
_DROP = re.compile(r"\b(?:drop|remove|exclude|without)\b(?P<rest>.*)", re.I)
_SORT = re.compile(
    r"\b(?:sort|order)(?:ed)?\s+(?:(?:it|them|these|this|those|the\s+\w+)\s+)?by\s+", re.I
)
_FIRST = re.compile(  # "oldest first", "highest price first"
    r"\b(highest|largest|biggest|greatest|most\s+expensive|lowest|smallest|least|oldest"
    r"|youngest|cheapest|priciest)(?:\s+([\w-]+))?\s+first\b",
    re.I,
)
_USUAL_FIELDS = {  # the field an adjective alone sorts by
    **dict.fromkeys(["oldest", "youngest"], ("age",)),
    **dict.fromkeys(["cheapest", "priciest", "expensive"], ("price", "cost", "amount")),
}
_SORT_WORD = re.compile(r"\b(?:sort(?:ed)?|ordered\s+by|order\s+by)\b", re.I)
_DESC = re.compile(r"^\W*(?:\w+\W+){0,3}?(?:desc(?:ending)?|reverse|largest\s+first|z-a)\b", re.I)
_LIMIT = re.compile(r"\b(?:first|top|limit(?:\s+to)?)\s+(\d{1,6})\b", re.I)
_RECORDS = re.compile(  # "keep the rows where …", "keep the first 2 records": no field named
    r"\s*(?:only\s+)?(?:the\s+|those\s+)?(?:(?:first|top)\s+\d{1,6}\b"
    r"|(?:records|rows|ones|items|entries|objects)\b)",
    re.I,
)
_RENAME = re.compile(r"\brename\s+(\S+)\s+(?:to|as)\s+(\S+)", re.I)
_FORMAT = re.compile(r"\b(pretty[\s-]?print|prettify|format|indent|validate|check)\b", re.I)


def parse_data(text: str) -> tuple[Any, str]:
    """(parsed value, "json" | "csv"): JSON if it starts with [ or {, else delimited text."""
    body = check_size(text, "the data").strip().lstrip("\ufeff")
    if not body:
        raise TaskRejected("the data is empty: give JSON or CSV text")
    if body[:1] in "[{":
        try:
            return json.loads(body), "json"
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"the data is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            ) from None
    return read_csv(body), "csv"


def read_csv(text: str) -> list[Record]:
    """CSV rows as records; numbers become numbers, empty cells None, text stays text."""
    reader = csv.reader(io.StringIO(text), delimiter=sniff_delimiter(text))
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise TaskRejected(f"the data is not valid CSV: {exc}") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise TaskRejected("the CSV has no header row")
    header = [h.strip() for h in rows[0]]
    if len(set(header)) != len(header) or not all(header):
        raise TaskRejected(f"the CSV header needs unique, non-empty column names: {header}")
    records = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise TaskRejected(
                f"CSV line {number} has {len(row)} cells but the header has {len(header)}"
            )
        records.append({h: _typed(cell) for h, cell in zip(header, row, strict=True)})
    return records


def _typed(cell: str) -> Any:
    text = cell.strip()
    if not text:
        return None
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    return cell


def write_csv(records: list[Record]) -> str:
    """Records as CSV: columns in order of first appearance, nested values as JSON."""
    columns: list[str] = []
    for record in records:
        columns += [k for k in record if k not in columns]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for record in records:
        writer.writerow([_cell(record.get(c)) for c in columns])
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _columns(records: list[Record]) -> list[str]:
    names: list[str] = []
    for record in records:
        names += [k for k in record if k not in names]
    return names


def _named(text: str, columns: list[str]) -> list[str]:
    return [c for _, _, c in mentions(text, columns)]


def _sort_key(column: str) -> Any:
    def key(record: Record) -> tuple[int, Any]:
        value = record.get(column)
        if value is None:
            return (2, "")
        if isinstance(value, int | float) and not isinstance(value, bool):
            return (0, value)
        return (1, str(value).lower())

    return key


def transform(description: str, text: str) -> tuple[str, dict[str, Any]]:
    """Apply the steps the description asks for to `text`: (output text, data)."""
    value, source = parse_data(text)
    target_match = _TARGET.search(description)
    target = target_match[1].lower() if target_match else source
    steps: list[str] = []
    given = text.strip()
    if given and given in description:  # the words before the data and after it
        before, _, after = description.partition(given)
        instruction = f"{before} {after}"
    else:
        instruction = description.split(given[:40], 1)[0] if given else description
    wants_records = target == "csv" or any(
        p.search(instruction) for p in (_SELECT, _DROP, _SORT, _LIMIT, _RENAME)
    )
    if not wants_records and parse_condition(instruction, _keys(value)) is None:
        if target == "json" and source == "json" and not _FORMAT.search(instruction):
            raise TaskRejected(
                "say what to do with the JSON: convert it to CSV, select or drop fields, filter"
                " (where age > 30), sort by a field, rename a field, or format it"
            )
        output = json.dumps(value, indent=2, ensure_ascii=False)
        data = {"format": "json", "json": output, "steps": [f"{source} → json"]}
        return output, data | ({"records": len(value)} if isinstance(value, list) else {})
    records = to_records(value) if source == "json" else value
    records, steps = _apply(instruction, records, steps)
    if target == "csv":
        output = write_csv(records)
        data = {"format": "csv", "csv": output}
    else:
        output = json.dumps(records, indent=2, ensure_ascii=False)
        data = {"format": "json", "json": output}
    steps.append(f"{source} → {target}")
    return output, data | {"records": len(records), "steps": steps}


def _keys(value: Any) -> list[str]:
    try:
        return _columns(to_records(value))
    except TaskRejected:
        return []


def _apply(
    instruction: str, records: list[Record], steps: list[str]
) -> tuple[list[Record], list[str]]:
    columns = _columns(records)
    condition = parse_condition(instruction, columns)
    if condition:
        records = [r for r in records if condition.holds(r.get(condition.column))]
        steps.append(f"filter {condition.describe()}: {len(records)} records")
    rename = _RENAME.search(instruction)
    renamed: dict[str, str] = {}
    if rename:
        old = next((c for c in columns if c.lower() == rename[1].strip("'\"").lower()), None)
        if old is None:
            raise TaskRejected(f"cannot rename {rename[1]!r}: the fields are {columns}")
        renamed[old] = rename[2].strip("'\".,:;")
        steps.append(f"rename {old} → {renamed[old]}")
    sort = _SORT.search(instruction)
    if sort is None and _SORT_WORD.search(instruction):  # not dropped in silence
        raise TaskRejected(
            f"could not read how to sort: write 'sort by FIELD' (or '… descending'); the"
            f" fields are {columns}"
        )
    order = _sort_order(instruction, sort, columns)
    if order:
        field, descending = order
        records = sorted(records, key=_sort_key(field), reverse=descending)
        steps.append(f"sort by {field}{' descending' if descending else ''}")
    selected = _SELECT.search(instruction)
    for pattern, keep in ((_SELECT, True), (_DROP, False), (_ONLY, True)):
        match = pattern.search(instruction)
        if not match or (pattern is _ONLY and selected) or _RECORDS.match(match["rest"]):
            continue  # "keep the records where …" filters records, it names no field
        stop = r"\b(?:where|sort\w*|order\w*|then|rename|first|limit|as|to|into|output)\b"
        chosen = list(dict.fromkeys(_named(re.split(stop, match["rest"])[0], columns)))
        if not chosen and pattern is _ONLY:  # "only the first 2 rows" names no field
            continue
        if not chosen:
            raise TaskRejected(f"say which fields to {'keep' if keep else 'drop'}: {columns}")
        ordered = chosen if keep else [c for c in columns if c not in chosen]
        records = [{c: r[c] for c in ordered if c in r} for r in records]
        steps.append(f"{'keep' if keep else 'drop'} {', '.join(chosen)}")
    limit = _LIMIT.search(instruction)
    if limit:
        records = records[: int(limit[1])]
        steps.append(f"first {limit[1]}")
    if renamed:
        records = [{renamed.get(k, k): v for k, v in r.items()} for r in records]
    return records, steps


def _sort_order(
    instruction: str, sort: re.Match[str] | None, columns: list[str]
) -> tuple[str, bool] | None:
    """(field, descending) from "sort by age desc", or from "oldest first", "highest price
    first", "cheapest first": the word's usual field when the ask names none."""
    first = None if sort else _FIRST.search(instruction)
    if sort:
        field = next(iter(_named(instruction[sort.end() :], columns)), None)
        descending = bool(_DESC.search(instruction[sort.end() :]))
    elif first:
        word = first[1].lower()
        field = next(iter(_named(first[2] or "", columns)), None) or next(
            (c for c in columns if c.lower() in _USUAL_FIELDS.get(word.split()[-1], ())), None
        )
        descending = word not in ("lowest", "smallest", "least", "youngest", "cheapest")
    else:
        return None
    if field is None:
        raise TaskRejected(f"say which field to sort by; the fields are {columns}")
    return field, descending


TRANSFORM_CARD = AgentCard(
    name="transform",
    description=(
        "Data transformation: converts between JSON and CSV, selects, drops and renames"
        " fields, filters and sorts records, and formats or validates JSON."
    ),
    tags=["json", "csv", "transform", "convert", "data", "format"],
    skills=[
        Skill(
            name="convert-format",
            description="Convert CSV to JSON records or JSON records to CSV; pretty-print JSON.",
            tags=["json", "csv", "convert", "format"],
            examples=[
                "convert this CSV to JSON: name,age\\nAnn,31",
                'convert to CSV: [{"name": "Ann", "age": 31}]',
                "format this JSON: {...}",
                "turn the result into JSON",
            ],
        ),
        Skill(
            name="reshape-records",
            description=(
                "Keep or drop fields, filter records by a condition, sort by a field, rename a"
                " field, take the first N records of JSON or CSV data."
            ),
            tags=["filter", "sort", "select", "records", "json", "csv"],
            examples=[
                "keep only name and age, sorted by age descending",
                "filter the records where age > 30 and output CSV",
                "rename name to full_name in this JSON",
            ],
        ),
    ],
)


def handler(req: TaskRequest) -> TaskResult:
    """Transform `inputs["data"]`, inline data, or the upstream result as the task says."""
    given = req.inputs.get("data")
    if given is not None and not isinstance(given, str):
        text = json.dumps(given)
    elif isinstance(given, str) and given.strip():
        text = given
    else:
        text = inline_table(req.description) or _raw_json(req.description) or ""
        text = text or upstream_table(req.upstream, ("csv", "json", "text")) or ""
    if not text.strip():
        raise TaskRejected(
            "no data to transform: put JSON or CSV after a colon, in inputs={'data': ...}, or"
            " make the task depend on the task that produces it"
        )
    output, data = transform(req.description, text)
    shown = output
    if data.get("records", 0) > MAX_SHOWN_ROWS * 4:
        shown = output[:20_000]
    return TaskResult(
        task_id=req.task_id, status="succeeded", agent="transform", output=shown, data=data
    )


def _raw_json(description: str) -> str | None:
    """JSON written straight into the description, without a colon before it, up to its
    end ("turn [...] into CSV" gives the list, not the words after it)."""
    found = (json_prefix(description[m.start() :]) for m in re.finditer(r"[\[{]", description))
    return next((value for value in found if value), None)

"""A report agent that does not do its own arithmetic: it asks the calculator.

It shows agents collaborating over the mesh's message channel. Given figures such as
"rent 1200, food 450, transport 130", it requests the total and each share from
whichever agent offers arithmetic (found by capability, gated, audited), publishes a
note when the report is ready, and writes the report from the answers it got.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from mesh.errors import TaskRejected
from mesh.models import AgentCard, Skill, TaskRequest, TaskResult
from mesh.wording import SEQUENCE, is_instruction

REPORT_CARD = AgentCard(
    name="report",
    version="0.2.3",  # 0.2: figures with digits in labels, or from the table of the task before
    # 0.2.1: a full stop after a figure ends its item ("food 280. Can you …"); 0.2.2: the
    # card has a breakdown of hours (one of team hours scored 0.20, under the floor); a
    # next step read as a figure ("…, utilities 180. then divide the total by 4") is refused;
    # 0.2.3: "break down" as a tag ("break down our Q3 spend: …" scored 0.18, under the floor)
    description=(
        "Writes a short report on labelled figures (budgets, expenses, sales by item):"
        " the total and each item's share of it"
    ),
    skills=[
        Skill(
            name="figures-report",
            description="report the total and the percentage share of labelled figures",
            tags=["report", "budget", "breakdown", "break down"],
            examples=[
                "write a report on my budget: rent 1200, food 450, transport 130",
                "give me a breakdown of sales: north 340, south 210, west 95",
                "report on expenses: hosting 80, domains 12, email 6",
                "breakdown of time spent this week: meetings 6, coding 20, review 4",
                "write a report on those figures",
            ],
        )
    ],
    tags=["report", "finance"],
)

ARITHMETIC = "calculate an arithmetic expression"
_ITEMS = re.compile(  # "1,200" has no space after its comma; "food 280. Can you …" ends
    r",\s+|;\s*|\s+and\s+|\n|(?<=[\d%$€£])\.\s+"
)
_NUMBER = re.compile(r"[$€£]?(-?\d[\d,]*(?:\.\d+)?)[%$€£]?")
_OPERATOR = re.compile(  # "12 times 37" is arithmetic, not the figures "times: 37"
    r"(?:^|\s)(?:times|plus|minus|x|by|over|divided\s+by|multiplied\s+by|to\s+the\s+power\s+of"
    r"|of)$",
    re.I,
)
_INSTRUCTION = re.compile(r"^.*\b(?:on|of|for|about)\s+(?:(?:my|our|the|this|these)\s+)?", re.I)


def parse_figures(text: str) -> list[tuple[str, str]]:
    """Labelled figures in order: "rent 1200, food 450" -> [("rent", "1200"), ("food",
    "450")]. A label may hold digits ("Q1 1200", "2023 sales 5,400"): a figure is a
    number that follows a label with a letter in it. An item that goes on after its
    last number ("what does HTTP status 301 mean?") is a sentence, not figures, and an
    operator between numbers ("12 times 37") is arithmetic: no figures at all."""
    colon = ":" in text
    body = text.split(":", 1)[1] if colon else text
    figures: list[tuple[str, str]] = []
    for item in _ITEMS.split(body.strip().rstrip(".")):
        label: list[str] = []
        found: list[tuple[str, str]] = []
        counted = False  # a number came before in this item
        for word in item.split():
            number = _NUMBER.fullmatch(word.strip(":="))
            named = " ".join(label).strip(" :=-")
            if number and counted and _OPERATOR.search(named):
                return []
            counted = counted or bool(number)
            if number and re.search(r"[A-Za-z]", named):
                if not colon and not figures:  # "Write a report on revenue 120" -> "revenue"
                    named = _INSTRUCTION.sub("", named) or named
                found.append((named, number[1].replace(",", "")))
                label = []
            else:
                label.append(word)
        if not label:  # words after its last number: a sentence, not figures
            figures += found
    return figures


def upstream_figures(upstream: Mapping[str, TaskResult]) -> list[tuple[str, str]]:
    """Labelled figures from a table a task before produced (the CSV analyst's "total
    units by product": rows of one label and one number), for "report on those figures"."""
    figures: list[tuple[str, str]] = []
    for result in upstream.values():
        rows = result.data.get("result") if result.status == "succeeded" else None
        if not isinstance(rows, list):
            continue
        for row in rows:
            if not isinstance(row, dict) or len(row) != 2:
                return []
            label, number = row.values()
            if isinstance(number, bool) or not isinstance(number, int | float):
                return []
            figures.append((str(label), repr(number)))
    return figures


def handler(req: TaskRequest) -> TaskResult:
    figures = parse_figures(str(req.inputs.get("figures") or req.description))
    if len(figures) < 2:
        figures = upstream_figures(req.upstream) or figures
    if len(figures) < 2:
        raise TaskRejected(
            "a report needs at least two labelled figures, e.g. 'rent 1200, food 450'"
        )
    for label, number in figures:
        if SEQUENCE.match(label) and is_instruction(label):
            raise TaskRejected(
                f"'{label} {number}' is a next step, not a labelled figure: ask it as a task"
                " of its own, e.g. 'rent 1200, food 450. Then divide the total by 4'"
            )
    total = req.request(" + ".join(n for _, n in figures), capability=ARITHMETIC)
    # A failed answer stays in this task's inbox: another try here would read it again.
    if total.status != "succeeded":
        raise TaskRejected(f"could not get the total: {total.error}")
    total_value = total.data["value"]
    lines = [f"Total: {total_value} (computed by {total.agent})"]
    shares: dict[str, object] = {}
    for label, number in figures:
        share = req.request(f"round({number} / {total_value} * 100, 2)", capability=ARITHMETIC)
        if share.status != "succeeded":
            raise TaskRejected(f"could not get the share of {label}: {share.error}")
        shares[label] = share.data["value"]
        lines.append(f"- {label}: {number} ({share.data['value']} %)")
    req.publish("reports", {"total": total_value, "items": len(figures)})
    return TaskResult(
        task_id=req.task_id,
        status="succeeded",
        output="\n".join(lines),
        data={"total": total_value, "value": total_value, "shares": shares},
    )

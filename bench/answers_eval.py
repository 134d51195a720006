"""End to end: does a plain-language request to the offline mesh come back with the right answer?

  .venv/bin/python bench/answers_eval.py [--verbose] [--ids a01,a07]
      [--split dev|holdout|holdout2|...|holdout40]

Each labelled request (tests/data/answers.jsonl for dev; answers_holdout.jsonl, the first
held-out set, measured once and then opened for fixing; answers_holdout2.jsonl, written
before those fixes, measured once and then opened for fixing; answers_holdout3.jsonl, written
before the fixes from holdout2, measured once and then opened for fixing;
answers_holdout4.jsonl, written before those fixes, measured once and then opened;
answers_holdout5.jsonl to answers_holdout40.jsonl, each written before the fixes from
the set before it, v5 to v39 since opened) runs through
`Mesh.local(home).run(request)`
with the built-in agents, the offline planner and no model. A request is scored on two things:

- answer: for single, multi and chain requests the run succeeds and every expected
  substring is in `result.answer`; for refusals the run does not succeed (or raises a
  MeshError) and every expected word is in the answer or a task's error. Matching
  ignores case, and digit-group commas in the answer ("7,006,652" matches "7006652").
- agents: the agents that ran the plan's tasks, in order, are the labelled ones; for a
  refusal, that the mesh claimed no success.

Each split runs on its own fresh mesh home, in one mesh: discovery records outcomes
between runs, so a split is run in file order and the figures are for that order. The
csv-analyst reads files under the folder the mesh was started from, so the script
writes `CSV_FILES` into a temporary folder and starts the mesh there. OPENAI_* and
MESH_* variables are cleared first: this measures the offline defaults.

The baseline, in the same process: `mesh.registry.search(request)` alone, once per
request before any run (median ms), printed with the ratio of a full run's median to it.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from mesh import Mesh
from mesh.errors import MeshError

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests/data"
SPLITS = {
    "dev": DATA / "answers.jsonl",
    **{path.stem.removeprefix("answers_"): path for path in DATA.glob("answers_holdout*.jsonl")},
}
KINDS = ("single", "multi", "chain", "refuse")

CSV_FILES = {
    "sales.csv": """region,product,units,revenue
North,widget,12,240
South,widget,8,160
North,gadget,5,375
West,gizmo,20,300
South,gadget,3,225
West,widget,7,140
East,gizmo,4,60
""",
    "employees.csv": """name,department,salary,age
Ann,Engineering,85000,34
Bob,Sales,52000,45
Cara,Engineering,95000,29
Dan,Marketing,61000,38
Eve,Sales,58000,31
Finn,Engineering,78000,41
""",
    "orders.csv": """order_id,status,amount,customer
1,shipped,120.50,acme
2,pending,80.00,globex
3,shipped,45.25,acme
4,cancelled,300.00,initech
5,shipped,99.99,globex
6,pending,15.00,acme
""",
}


class Case(BaseModel):
    """One labelled request: what must appear in the answer, and who should answer."""

    id: str = Field(min_length=1)
    request: str = Field(min_length=1)
    expect: list[str] = Field(min_length=1)
    agents: list[str]
    kind: Literal["single", "multi", "chain", "refuse"]

    @model_validator(mode="after")
    def _consistent(self) -> Case:
        if any(not e.strip() for e in self.expect):
            raise ValueError("expect holds an empty substring, which matches anything")
        if self.kind == "refuse" and self.agents:
            raise ValueError("a refusal names no agents")
        if self.kind == "single" and len(self.agents) != 1:
            raise ValueError("a single request names exactly one agent")
        if self.kind in ("multi", "chain") and len(self.agents) < 2:
            raise ValueError(f"a {self.kind} request names at least two agents")
        echoed = [e for e in self.expect if e.lower() in self.request.lower()]
        if self.kind != "single" and echoed:
            raise ValueError(
                f"expect {echoed} is in the request, and a {self.kind} answer or error quotes"
                " its tasks, so an echo would pass: expect what only a right answer holds"
            )
        return self


class Outcome(BaseModel):
    """What one run gave back, reduced to what is scored."""

    ok: bool
    answer: str
    errors: str = ""
    agents: list[str | None] = Field(default_factory=list)
    seconds: float = 0.0
    raised: str = ""  # the exception's type when the run raised instead of answering


def builtin_names() -> set[str]:
    """The built-in agents' names, from their cards (no mesh needed)."""
    from mesh.agents import calculator, dates, report, text, transform, units
    from mesh.agents.csv_analyst import CSV_ANALYST_CARD
    from mesh.agents.knowledge import KNOWLEDGE_CARD
    from mesh.agents.web import WEB_READER_CARD

    cards = [calculator.CALCULATOR_CARD, text.TEXT_CARD, KNOWLEDGE_CARD, report.REPORT_CARD,
             units.UNITS_CARD, dates.DATES_CARD, CSV_ANALYST_CARD, transform.TRANSFORM_CARD,
             WEB_READER_CARD]  # fmt: skip
    return {c.name for c in cards}


def load_cases(path: Path) -> list[Case]:
    """The cases of a split; a bad line, a duplicate id or an unknown agent is an error."""
    cases: list[Case] = []
    known = builtin_names()
    seen: set[str] = set()
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            case = Case.model_validate_json(line)
        except ValidationError as exc:
            raise ValueError(f"{path.name}:{number}: {exc}") from exc
        if case.id in seen:
            raise ValueError(f"{path.name}:{number}: duplicate id {case.id!r}")
        unknown = set(case.agents) - known
        if unknown:
            raise ValueError(f"{path.name}:{number}: unknown agents {sorted(unknown)}")
        seen.add(case.id)
        cases.append(case)
    if not cases:
        raise ValueError(f"{path}: no cases")
    return cases


def contains(text: str, wanted: str) -> bool:
    low = text.lower()
    return wanted.lower() in low or wanted.lower() in re.sub(r"(?<=\d),(?=\d{3}\b)", "", low)


def answer_right(case: Case, got: Outcome) -> bool:
    if case.kind == "refuse":
        text = f"{got.answer}\n{got.errors}"
        return not got.ok and all(contains(text, e) for e in case.expect)
    return got.ok and all(contains(got.answer, e) for e in case.expect)


def agents_right(case: Case, got: Outcome) -> bool:
    return not got.ok if case.kind == "refuse" else got.agents == case.agents


def run_one(mesh: Mesh, request: str) -> Outcome:
    start = time.perf_counter()
    try:
        result = mesh.run(request)
    except MeshError as exc:
        seconds = time.perf_counter() - start
        return Outcome(ok=False, answer=str(exc), seconds=seconds, raised=type(exc).__name__)
    except Exception as exc:  # a crash is scored as wrong even for a refusal
        seconds = time.perf_counter() - start
        return Outcome(ok=False, answer="", errors="", seconds=seconds,
                       raised=f"crash {type(exc).__name__}: {exc}")  # fmt: skip
    seconds = time.perf_counter() - start
    ordered = [result.results.get(t.id) for t in result.plan.tasks]
    return Outcome(
        ok=result.ok,
        answer=result.answer,
        errors="\n".join(r.error for r in ordered if r and r.error),
        agents=[r.agent if r else None for r in ordered],
        seconds=seconds,
    )


@contextmanager
def started_mesh() -> Iterator[Mesh]:
    """A fresh mesh home, started from a folder holding CSV_FILES (the analyst's root)."""
    for name in [n for n in os.environ if n.startswith(("OPENAI_", "MESH_"))]:
        del os.environ[name]
    before = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="answers-eval-") as folder:
        for name, content in CSV_FILES.items():
            (Path(folder) / name).write_text(content)
        os.chdir(folder)
        try:
            with Mesh.local(Path(folder) / "mesh-home") as mesh:
                yield mesh
        finally:
            os.chdir(before)


def report(case: Case, got: Outcome, passed: bool) -> str:
    verdict = "PASS" if passed else "FAIL"
    lines = [f"{verdict} {case.id} [{case.kind}] {case.request!r}"]
    if not passed:
        lines.append(f"    expected {case.expect} agents {case.agents}")
    shown = " ".join((got.answer or got.raised).split())[:200]
    raised = f" raised {got.raised}" if got.raised else ""
    lines.append(f"    got ok={got.ok}{raised} agents {got.agents} answer: {shown!r}")
    if not got.ok and got.errors and not passed:
        lines.append(f"    errors: {' '.join(got.errors.split())[:200]!r}")
    return "\n".join(lines)


def search_ms(mesh: Mesh, cases: list[Case]) -> float:
    """Median ms of one `registry.search` per request, run before any request: the registry
    keeps query vectors, so searching after the runs would time the cache."""
    mesh.registry.search("warm up the embedding model", k=5)
    times = []
    for case in cases:
        start = time.perf_counter()
        mesh.registry.search(case.request, k=5)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=sorted(SPLITS), default="dev")
    parser.add_argument("--verbose", action="store_true", help="print passing requests too")
    parser.add_argument("--ids", default="", help="comma-separated ids to run (debugging)")
    args = parser.parse_args(argv)
    cases = load_cases(SPLITS[args.split])
    if args.ids:
        wanted = set(args.ids.split(","))
        cases = [c for c in cases if c.id in wanted]
    by_kind: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    seconds: list[float] = []
    with started_mesh() as mesh:
        base = search_ms(mesh, cases)
        for case in cases:
            got = run_one(mesh, case.request)
            right = answer_right(case, got), agents_right(case, got)
            by_kind[case.kind].append(right)
            seconds.append(got.seconds)
            if args.verbose or not all(right):
                print(report(case, got, all(right)))
    print(f"\nsplit {args.split}: {len(cases)} requests on one fresh mesh home, in file order")
    print(f"{'kind':<10}{'n':>4}{'answers':>10}{'agents':>10}")
    total = [r for kind in KINDS for r in by_kind[kind]]
    for kind, rows in [*((k, by_kind[k]) for k in KINDS if by_kind[k]), ("overall", total)]:
        answers = sum(a for a, _ in rows) / len(rows)
        agents = sum(b for _, b in rows) / len(rows)
        print(f"{kind:<10}{len(rows):>4}{answers:>10.1%}{agents:>10.1%}")
    run_ms = statistics.median(seconds) * 1000
    print(f"time per request: run median {run_ms:.0f} ms (mean {statistics.mean(seconds):.2f} s),"
          f" registry.search alone {base:.1f} ms, ratio {run_ms / base:.0f}x")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

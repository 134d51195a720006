"""How well the offline planner structures multi-part requests, on a labelled set.

    .venv/bin/python bench/planner_eval.py [--data tests/data/plans.jsonl] [--show-misses]

For each request of the set (expected tasks, capabilities as agent/skill, dependencies)
it plans offline and scores:

- tasks: the same number of tasks with the same text (case and end punctuation aside);
- dependencies: the same dependency sets, task by task;
- structure: both at once — the figure reported in bench/RESULTS.md;
- capability: for the tasks of correctly split requests, whether discovery (the real
  registry of the built-in agents, MiniLM embeddings) ranks the expected agent first,
  above MESH_MIN_SCORE, and its expected skill.

Baselines run in the same process on the same set: one task per request, and a split
at sentence ends only with no dependencies. Planning time per request is printed with
its ratio to the sentence-split baseline.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mesh import Mesh, Plan, Task
from mesh.genai import OfflinePlanner

ROOT = Path(__file__).resolve().parent.parent
Planner = Callable[[str], Plan]


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().strip(" .,;:!?").lower())


def one_task(request: str) -> Plan:
    return Plan(tasks=[Task(id="t1", description=request)])


def sentences(request: str) -> Plan:
    parts = [p for p in re.split(r"(?<=[.?!])\s+(?=[A-Z])", request.strip()) if p]
    return Plan(tasks=[Task(id=f"t{i}", description=p) for i, p in enumerate(parts, 1)])


def score(planner: Planner, rows: list[dict[str, Any]]) -> dict[str, Any]:
    tasks_ok = deps_ok = both = 0
    misses: list[str] = []
    for row in rows:
        plan = planner(row["request"])
        want = row["tasks"]
        same_tasks = len(plan.tasks) == len(want) and all(
            norm(got.description) == norm(exp["text"])
            for got, exp in zip(plan.tasks, want, strict=True)
        )
        ids = {t.id: f"t{i}" for i, t in enumerate(plan.tasks, 1)}
        got_deps = [sorted(ids[d] for d in t.depends_on) for t in plan.tasks]
        same_deps = got_deps == [sorted(exp["depends_on"]) for exp in want]
        tasks_ok += same_tasks
        deps_ok += same_deps
        both += same_tasks and same_deps
        if not (same_tasks and same_deps):
            got = [(t.description, got_deps[i]) for i, t in enumerate(plan.tasks)]
            misses.append(f"{row['id']} [{row['kind']}] {row['request']!r}\n    got {got}")
    n = len(rows)
    return {"n": n, "tasks": tasks_ok / n, "deps": deps_ok / n, "structure": both / n,
            "misses": misses}  # fmt: skip


def capability(mesh: Mesh, rows: list[dict[str, Any]]) -> tuple[float, float, int]:
    """Agent and skill accuracy of discovery on the planner's tasks of well-split requests."""
    planner = OfflinePlanner()
    agents = skills = total = 0
    floor = mesh.settings.min_score
    for row in rows:
        plan = planner.plan(row["request"])
        if len(plan.tasks) != len(row["tasks"]):
            continue
        for task, exp in zip(plan.tasks, row["tasks"], strict=True):
            agent, skill = exp["capability"].split("/")
            matches = [m for m in mesh.registry.search(task.need, k=3) if m.score >= floor]
            total += 1
            if matches and matches[0].card.name == agent:
                agents += 1
                skills += bool(matches[0].skill and matches[0].skill.name == skill)
    return agents / max(total, 1), skills / max(total, 1), total


def per_request_ms(planner: Planner, rows: list[dict[str, Any]], repeat: int = 20) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for row in rows:
            planner(row["request"])
        times.append((time.perf_counter() - start) / len(rows))
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / "tests/data/plans.jsonl"))
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args(argv)
    rows = [json.loads(line) for line in Path(args.data).read_text().splitlines() if line.strip()]
    multi = sum(len(r["tasks"]) > 1 for r in rows)
    print(f"labelled requests: {len(rows)} ({multi} multi-part), tasks: "
          f"{sum(len(r['tasks']) for r in rows)}")  # fmt: skip
    offline = OfflinePlanner().plan
    results = {
        "offline planner": score(offline, rows),
        "baseline: sentence split": score(sentences, rows),
        "baseline: one task": score(one_task, rows),
    }
    print(f"{'planner':<28}{'structure':>10}{'tasks':>8}{'deps':>8}")
    for name, res in results.items():
        print(f"{name:<28}{res['structure']:>10.1%}{res['tasks']:>8.1%}{res['deps']:>8.1%}")
    base = results["baseline: sentence split"]["structure"]
    if base:
        ratio = results["offline planner"]["structure"] / base
        print(f"structure ratio offline / sentence split: {ratio:.2f}x")
    with tempfile.TemporaryDirectory() as home, Mesh.local(home) as mesh:
        agent_acc, skill_acc, total = capability(mesh, rows)
        print("registered agents:", ", ".join(c.name for c in mesh.registry.list()))
    print(f"capability via discovery on {total} tasks of well-split requests:"
          f" agent {agent_acc:.1%}, skill {skill_acc:.1%}")  # fmt: skip
    fast, slow = per_request_ms(sentences, rows), per_request_ms(offline, rows)
    print(f"planning time per request: offline {slow:.3f} ms, sentence split {fast:.3f} ms,"
          f" ratio {slow / fast:.1f}x")  # fmt: skip
    if args.show_misses:
        print("\nmisses of the offline planner:")
        for miss in results["offline planner"]["misses"]:
            print(" ", miss)
    return 0


if __name__ == "__main__":
    sys.exit(main())

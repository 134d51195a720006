"""What the chat pays per update as plans grow: folding events, drawing the DAG, the table.

A synthetic run per size (a layered plan, 10 tasks per layer; plan, discovered,
task_started and task_finished events per task) is folded into a `RunView`; one update
renders the DAG and the table, as the chat does at most every 0.12 s. The baseline is
the same work for a 10-task plan, in the same process.

    .venv/bin/python bench/ui_view.py
"""

from __future__ import annotations

import time
from typing import Any

from mesh.models import Event
from mesh.ui.dag import render_dag
from mesh.ui.progress import RunView


def events(size: int) -> list[Event]:
    ids = [f"t{i}" for i in range(size)]
    tasks = [
        {"id": t, "description": f"task {i}", "depends_on": [ids[i - 10]] if i >= 10 else []}
        for i, t in enumerate(ids)
    ]
    out = [Event(kind="plan", step="plan", data={"plan": {"tasks": tasks}})]
    for t in ids:
        found: dict[str, Any] = {"agent": "calculator", "score": 0.5}
        out.append(Event(kind="discovered", step="d", data={"task_id": t, "candidates": [found]}))
    for t in ids:
        started = {"task_id": t, "agent": "calculator", "attempt": 1}
        result = {"task_id": t, "status": "succeeded", "output": "ok", "agent": "calculator"}
        out.append(Event(kind="task_started", step="dispatch", data=started))
        out.append(Event(kind="task_finished", step="dispatch", data={"result": result}))
    return out


def measure(size: int) -> tuple[float, float]:
    """(µs per event folded, ms per rendered update) for a plan of `size` tasks."""
    stream = events(size)
    view = RunView()
    start = time.perf_counter()
    for event in stream:
        view.apply(event)
    per_event = (time.perf_counter() - start) / len(stream)
    repeats = max(3, 2000 // size)
    start = time.perf_counter()
    for _ in range(repeats):
        render_dag(list(view.tasks.values()))
        view.table()
        view.progress_markdown()
    return per_event * 1e6, (time.perf_counter() - start) / repeats * 1e3


def main() -> None:
    measure(10)  # warm up
    base_event, base_render = measure(10)
    print("tasks | µs per event | ms per update | event / 10-task | update / 10-task")
    for size in (10, 100, 500):
        per_event, per_render = measure(size)
        print(
            f"{size:5} | {per_event:12.1f} | {per_render:13.2f} |"
            f" {per_event / base_event:15.2f} | {per_render / base_render:16.1f}"
        )


if __name__ == "__main__":
    main()

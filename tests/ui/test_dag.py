"""The plan drawn as SVG: layout by dependency depth, states, escaping, limits."""

from __future__ import annotations

import re

from mesh.ui.dag import MAX_NODES, levels, render_dag
from mesh.ui.progress import TaskView


def test_columns_follow_the_deepest_dependency() -> None:
    tasks = [
        TaskView("d", "join", ["b", "c"]),
        TaskView("a", "start"),
        TaskView("b", "left", ["a"]),
        TaskView("c", "right", ["a"]),
        TaskView("e", "alone"),
    ]
    assert levels(tasks) == {"a": 0, "b": 1, "c": 1, "d": 2, "e": 0}
    svg = render_dag(tasks)
    assert len(re.findall(r'class="edge"', svg)) == 4
    assert 'data-from="b" data-to="d"' in svg


def test_states_and_hostile_text_are_escaped() -> None:
    task = TaskView("t<1>", '<script>alert("x")</script>', state="denied", agent="a&b")
    task.denied = ["calculator"]
    svg = render_dag([task])
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert 'data-task="t&lt;1&gt;" data-state="denied"' in svg
    assert "a&amp;b" in svg and "#7f1d1d" in svg


def test_cycles_do_not_hang_and_big_plans_are_capped() -> None:
    assert set(levels([TaskView("a", "x", ["b"]), TaskView("b", "y", ["a"])])) == {"a", "b"}
    many = [TaskView(f"t{i}", "step", [f"t{i - 1}"] if i else []) for i in range(MAX_NODES + 5)]
    svg = render_dag(many)
    assert svg.count('class="task"') == MAX_NODES
    assert "…and 5 more tasks" in svg


def test_no_plan_yet() -> None:
    assert "appears here" in render_dag([])

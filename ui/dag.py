"""The plan drawn as a DAG in SVG: one box per task, coloured by its state, left to right.

A task sits one column right of its deepest dependency, so every edge points right and
independent tasks share a column. Self-contained SVG (no script, every text escaped),
so it renders in any HTML component and in notebooks. Each task's <g> carries
``data-task`` and ``data-state`` so tests and tools can read the drawing.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from mesh.ui.progress import ICONS, TaskView, clip

NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 190, 64, 56, 18, 16
MAX_NODES = 120
FILL = {
    "waiting": ("#f3f4f6", "#9ca3af"),
    "running": ("#dbeafe", "#2563eb"),
    "retrying": ("#fef3c7", "#d97706"),
    "succeeded": ("#dcfce7", "#16a34a"),
    "failed": ("#fee2e2", "#dc2626"),
    "denied": ("#fecaca", "#7f1d1d"),
    "skipped": ("#f9fafb", "#d1d5db"),
}


def levels(tasks: Sequence[TaskView]) -> dict[str, int]:
    """Column of each task: 0 for roots, else one more than its deepest dependency."""
    known = {t.id: t for t in tasks}
    level: dict[str, int] = {}
    opened: set[str] = set()  # guards against a cycle in a plan that was never checked
    for task in tasks:
        stack = [(task.id, False)]
        while stack:
            tid, expanded = stack.pop()
            if tid in level or (not expanded and tid in opened):
                continue
            deps = [d for d in known[tid].depends_on if d in known]
            if expanded or not deps:
                level[tid] = 1 + max((level.get(d, 0) for d in deps), default=-1)
                continue
            opened.add(tid)
            stack.append((tid, True))
            stack += [(d, False) for d in deps if d not in level]
    return level


def render_dag(tasks: Sequence[TaskView]) -> str:
    """The SVG drawing of `tasks`, or a short note when there is no plan yet."""
    if not tasks:
        return '<div class="mesh-dag-empty">The plan appears here once the mesh has one.</div>'
    shown = list(tasks)[:MAX_NODES]
    column = levels(shown)
    rows: dict[int, int] = {}
    where: dict[str, tuple[int, int]] = {}
    for task in shown:
        col = column[task.id]
        row = rows.get(col, 0)
        rows[col] = row + 1
        where[task.id] = (PAD + col * (NODE_W + GAP_X), PAD + row * (NODE_H + GAP_Y))
    width = PAD * 2 + (max(column.values()) + 1) * (NODE_W + GAP_X) - GAP_X
    height = PAD * 2 + max(rows.values()) * (NODE_H + GAP_Y) - GAP_Y
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="mesh-dag" width="{width}"'
        f' height="{height}" viewBox="0 0 {width} {height}" role="img"'
        f' aria-label="plan with {len(shown)} tasks">',
        '<defs><marker id="mesh-arrow" viewBox="0 0 10 10" refX="10" refY="5"'
        ' markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" fill="#6b7280"/></marker></defs>',
    ]
    for task in shown:
        x2, y2 = where[task.id]
        for dep in task.depends_on:
            if dep not in where:
                continue
            x1, y1 = where[dep]
            sx, sy, ex, ey = x1 + NODE_W, y1 + NODE_H // 2, x2, y2 + NODE_H // 2
            mid = (sx + ex) // 2
            parts.append(
                f'<path class="edge" data-from="{escape(dep)}" data-to="{escape(task.id)}"'
                f' d="M {sx} {sy} C {mid} {sy}, {mid} {ey}, {ex - 2} {ey}" fill="none"'
                ' stroke="#6b7280" stroke-width="1.5" marker-end="url(#mesh-arrow)"/>'
            )
    for task in shown:
        parts.append(_node(task, *where[task.id]))
    parts.append("</svg>")
    more = len(tasks) - len(shown)
    note = f'<div class="mesh-dag-more">…and {more} more tasks</div>' if more > 0 else ""
    return '<div class="mesh-dag-wrap" style="overflow:auto">' + "".join(parts) + note + "</div>"


def _node(task: TaskView, x: int, y: int) -> str:
    fill, stroke = FILL.get(task.state, FILL["waiting"])
    dash = ' stroke-dasharray="4 3"' if task.state == "skipped" else ""
    title = escape(f"{task.id}: {task.description}\n{task.state}. {task.note}".strip())
    waiting = {"denied": "no agent allowed", "failed": "no agent found", "skipped": "not run"}
    agent = escape(clip(task.agent or waiting.get(task.state, "finding an agent…"), 26))
    return (
        f'<g class="task" data-task="{escape(task.id)}" data-state="{escape(task.state)}">'
        f"<title>{title}</title>"
        f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="8" fill="{fill}"'
        f' stroke="{stroke}" stroke-width="2"{dash}/>'
        f'<text x="{x + 10}" y="{y + 19}" font-size="13" font-weight="bold" fill="#111827">'
        f"{escape(ICONS.get(task.state, ''))} {escape(clip(task.id, 12))}"
        f' <tspan font-weight="normal" fill="#374151">{escape(task.state)}</tspan></text>'
        f'<text x="{x + 10}" y="{y + 37}" font-size="12" fill="#1f2937">{agent}</text>'
        f'<text x="{x + 10}" y="{y + 54}" font-size="11" fill="#6b7280">'
        f"{escape(clip(task.description, 30))}</text></g>"
    )

"""The Gradio chat on the mesh: streams each step as it happens, then the answer.

Gradio is imported here only, so the rest of the mesh works without a UI stack loaded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from mesh.core import Mesh
from mesh.errors import MeshError
from mesh.models import Event

TITLE = "Agentic Mesh"
DESCRIPTION = (
    "Ask for anything the registered agents can do; the mesh plans, finds agents by"
    " meaning, checks the policy and runs them. Try: *What is 17 * 23?*"
)


def describe(event: Event) -> str | None:
    """One line of progress for an event, or None for events the chat does not show."""
    d = event.data
    if event.kind == "step":
        return f"**{event.step}**"
    if event.kind == "plan":
        tasks = d["plan"]["tasks"]
        return "plan: " + "; ".join(
            f"`{t['id']}` {t['description']}"
            + (f" (after {', '.join(t['depends_on'])})" if t["depends_on"] else "")
            for t in tasks
        )
    if event.kind == "discovered":
        found = ", ".join(f"{c['agent']} ({c['score']:.2f})" for c in d["candidates"])
        return f"`{d['task_id']}` → {found or 'no agent: ' + str(d['reason'])}"
    if event.kind == "task_started":
        return f"`{d['task_id']}` running on **{d['agent']}** (attempt {d['attempt']})"
    if event.kind == "retry":
        return f"`{d['task_id']}` retrying: {d['error']}"
    if event.kind == "reassigned":
        return f"`{d['task_id']}` reassigned to **{d['agent']}**"
    if event.kind == "policy_denied":
        return f"`{d['task_id']}` ⛔ policy denied {d['user']} → {d['agent']}"
    if event.kind == "task_finished":
        r = d["result"]
        detail = r["output"] if r["status"] == "succeeded" else r["error"]
        return f"`{r['task_id']}` {r['status']}: {detail}"
    return None


async def chat(message: str, history: list[dict[str, Any]], mesh: Mesh) -> AsyncIterator[str]:
    lines: list[str] = []
    try:
        async for event in mesh.astream(message):
            if event.kind == "answer":
                progress = "\n".join(f"- {line}" for line in lines)
                yield f"{progress}\n\n---\n\n{event.data['answer']}"
                return
            line = describe(event)
            if line and not (event.kind == "step" and lines and lines[-1] == line):
                lines.append(line)
                yield "\n".join(f"- {entry}" for entry in lines)
    except MeshError as exc:
        yield f"**Error:** {exc}"


def build_app(mesh: Mesh) -> gr.Blocks:
    async def respond(message: str, history: list[dict[str, Any]]) -> AsyncIterator[str]:
        async for text in chat(message, history, mesh):
            yield text

    with gr.Blocks(title=TITLE) as app:
        gr.ChatInterface(
            respond,
            title=TITLE,
            description=DESCRIPTION,
            examples=[
                "What is 17 * 23?",
                "Compute 2**10 and count the words in 'the quick brown fox jumps'",
                "How many planets are in the solar system?",
            ],
            api_name="chat",
        )
    return app


def serve(mesh: Mesh, host: str | None = None, port: int | None = None) -> None:
    app = build_app(mesh)
    app.queue().launch(
        server_name=host or mesh.settings.ui_host,
        server_port=port or mesh.settings.ui_port,
        show_error=True,
    )

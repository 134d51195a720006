"""The Chat tab: a request in, the mesh at work streamed out, then the answer.

While a run goes, the chat shows a collapsible "Mesh at work" message with every step,
and the side panel shows the plan as a table and as a DAG whose boxes change colour as
tasks start, retry, move to another agent, are denied or finish. The answer follows
with a table of who did what. With plan approval (when the mesh supports it), the run
pauses after planning and Approve / Edit / Reject buttons decide.
"""

from __future__ import annotations

import inspect
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

import gradio as gr
from pydantic import ValidationError

from mesh.core import Mesh
from mesh.errors import MeshError
from mesh.models import Event, Plan
from mesh.ui.dag import render_dag
from mesh.ui.progress import RunView

log = logging.getLogger(__name__)
HEADERS = ["task", "what", "agent", "state", "note"]
EXAMPLES = [
    "What is 17 * 23?",
    "How many days between 2024-01-01 and 2024-03-01? Convert 72 kg to pounds."
    " Compute 12 * 5 then convert the result from km to miles",
    "Compute 2**10 and count the words in 'the quick brown fox jumps'",
    "How many planets are in the solar system?",
]
THROTTLE_SECONDS = 0.12
_ALWAYS_SHOWN = {"plan", "plan_grown", "answer", "done", "approval", "policy_denied"}
_ALWAYS_SHOWN |= {"task_finished"}


def supports_approval(mesh: Mesh) -> bool:
    """Whether this mesh can pause a run for plan approval (astream(approve=) + astream_resume)."""
    try:
        params = inspect.signature(mesh.astream).parameters
    except (TypeError, ValueError):
        return False
    return "approve" in params and callable(getattr(mesh, "astream_resume", None))


def user_of(request: gr.Request | None) -> str | None:
    """The logged-in user as the policy principal; None (the mesh's default) without login."""
    name = getattr(request, "username", None) if request is not None else None
    return str(name) if name else None


class Turn:
    """One request's messages in the chat, rebuilt from the run's view at each update."""

    def __init__(self, history: list[dict[str, Any]], message: str) -> None:
        self.history = [*history, {"role": "user", "content": message}]
        self.view = RunView()
        self.error: str | None = None

    def messages(self) -> list[dict[str, Any]]:
        view = self.view
        settled = view.finished or self.error or view.approval
        title = "Mesh at work · " + (view.summary() if view.tasks else "planning")
        progress: dict[str, Any] = {"role": "assistant", "content": view.progress_markdown()}
        if settled:  # folded away once the answer is there; open while the run goes
            progress["metadata"] = {"title": title, "status": "done"}
        else:
            progress["content"] = f"**{title}**\n\n" + progress["content"]
        shown = [*self.history, progress]
        if self.error:
            shown.append({"role": "assistant", "content": f"**Error:** {self.error}"})
        elif view.approval:
            shown.append(
                {
                    "role": "assistant",
                    "content": "✋ The plan is ready. Approve it, edit it, or reject it.",
                }
            )
        elif view.finished:
            shown.append({"role": "assistant", "content": view.answer_markdown()})
        return shown

    def outputs(self) -> tuple[Any, ...]:
        view = self.view
        tasks = list(view.tasks.values())
        summary = view.summary() if view.tasks else "No plan yet."
        log = view.progress_markdown()
        approval = gr.update(visible=bool(view.approval))
        plan_json = json.dumps(view.approval, indent=2) if view.approval else ""
        return (
            self.messages(),
            f"**{summary}**",
            render_dag(tasks),
            view.table(),
            log,
            approval,
            plan_json,
            self,
        )


async def _follow(turn: Turn, events: AsyncIterator[Event]) -> AsyncIterator[tuple[Any, ...]]:
    """Fold `events` into the turn, yielding outputs at most every THROTTLE_SECONDS."""
    last = 0.0
    try:
        async for event in events:
            turn.view.apply(event)
            now = time.monotonic()
            if event.kind in _ALWAYS_SHOWN or now - last >= THROTTLE_SECONDS:
                last = now
                yield turn.outputs()
    except MeshError as exc:
        turn.error = str(exc)
    except Exception as exc:  # a bug, not bad input: say so in the chat and keep the trace
        log.exception("the run failed unexpectedly")
        turn.error = f"the mesh failed unexpectedly ({type(exc).__name__}: {exc}); see the log"
    yield turn.outputs()


def chat_tab(mesh: Mesh) -> None:
    """Build the Chat tab's components and events inside the current Blocks."""
    approval_on = supports_approval(mesh)
    turn_state = gr.State(None)
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            chatbot = gr.Chatbot(
                elem_id="chatbot", height=560, label="Chat", group_consecutive_messages=False
            )
            with gr.Row():
                box = gr.Textbox(
                    elem_id="chat-input",
                    placeholder="Ask for anything the agents can do…",
                    show_label=False,
                    scale=8,
                    autofocus=True,
                )
                send = gr.Button("Send", elem_id="chat-send", variant="primary", scale=1)
            review = gr.Checkbox(
                label="Let me approve the plan before it runs",
                value=False,
                visible=approval_on,
                elem_id="chat-review",
            )
            with gr.Group(visible=False) as approval:
                plan_box = gr.Code(
                    language="json", label="Plan (edit, then press Edit & run)", elem_id="plan-json"
                )
                with gr.Row():
                    approve = gr.Button("Approve", elem_id="plan-approve", variant="primary")
                    edit = gr.Button("Edit & run", elem_id="plan-edit")
                    reject = gr.Button("Reject", elem_id="plan-reject", variant="stop")
            gr.Examples(EXAMPLES, inputs=box)
        with gr.Column(scale=2):
            summary = gr.Markdown("**No plan yet.**", elem_id="run-summary")
            dag = gr.HTML(render_dag([]), elem_id="plan-dag", label="Plan")
            table = gr.Dataframe(
                headers=HEADERS,
                value=[],
                elem_id="plan-table",
                interactive=False,
                wrap=True,
                label="Tasks",
                column_widths=["10%", "34%", "16%", "18%", "22%"],
            )
            with gr.Accordion("Events", open=False):
                log = gr.Markdown(elem_id="event-log")

    outputs = [chatbot, summary, dag, table, log, approval, plan_box, turn_state]

    async def respond(
        message: str, history: list[dict[str, Any]], wants_review: bool, request: gr.Request
    ) -> AsyncIterator[tuple[Any, ...]]:
        turn = Turn(history or [], message)
        yield ("", *turn.outputs())
        kwargs: dict[str, Any] = {"user": user_of(request)}
        if approval_on and wants_review:
            kwargs["approve"] = True
        async for update in _follow(turn, mesh.astream(message, **kwargs)):
            yield ("", *update)

    def decide(action: str) -> Any:
        async def resume(turn: Turn | None, plan_text: str) -> AsyncIterator[tuple[Any, ...]]:
            if turn is None or not turn.view.approval:
                raise gr.Error("No plan is waiting for a decision.")
            decision: Plan | Literal["approve", "reject"] = (
                "approve" if action == "approve" else "reject"
            )
            if action == "edit":
                try:
                    decision = Plan.model_validate_json(plan_text)
                except ValidationError as exc:
                    gr.Warning(f"The edited plan is not valid: {_first_error(exc)}")
                    yield turn.outputs()
                    return
            thread_id, turn.view.approval = turn.view.thread_id, None
            resumed = mesh.astream_resume(thread_id, decision)
            async for update in _follow(turn, resumed):
                yield update

        return resume

    inputs = [box, chatbot, review]
    send.click(respond, inputs, [box, *outputs], api_name="chat")
    box.submit(respond, inputs, [box, *outputs], api_visibility="private")
    for button, action in ((approve, "approve"), (edit, "edit"), (reject, "reject")):
        button.click(decide(action), [turn_state, plan_box], outputs, api_visibility="private")


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "plan"
    return f"{where}: {first['msg']}"

"""What a run looks like while it happens: the plan, each task's state, the event log.

`RunView.apply(event)` folds the mesh's progress events into a view the chat renders
(a table, a DAG, a log, the answer with who did what). It imports no UI toolkit, so it
is tested on its own and usable from notebooks. Unknown event kinds are logged
generically, so new kinds from the orchestrator show up without a UI change.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from mesh.models import Event

STATES = ("waiting", "running", "retrying", "succeeded", "failed", "denied", "skipped")
ICONS = {
    "waiting": "⏳",
    "running": "▶",
    "retrying": "↻",
    "succeeded": "✅",
    "failed": "❌",
    "denied": "⛔",
    "skipped": "⏭",
}
MAX_NOTE = 160
MAX_LOG = 400
_POWER = re.compile(r"(?<=[\w)])\*\*(?=[\w(])")
_DENIED = re.compile(r"policy denied '([^']*)' dispatch to (.*?)(?:, and |$)")


def clip(text: Any, limit: int = MAX_NOTE) -> str:
    """One line of at most `limit` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def code(text: Any) -> str:
    """Inline Markdown code that survives backticks in the text."""
    return "`" + clip(text).replace("`", "ʼ") + "`"


@dataclass
class TaskView:
    id: str
    description: str
    depends_on: list[str] = field(default_factory=list)
    agent: str | None = None
    state: str = "waiting"
    attempts: int = 0
    candidates: list[str] = field(default_factory=list)
    denied: list[str] = field(default_factory=list)
    output: str = ""
    error: str = ""

    @property
    def note(self) -> str:
        if self.state == "denied":
            return f"policy denied {', '.join(self.denied)}"
        return clip(self.error) if self.error else clip(self.output, 48)


@dataclass
class RunView:
    """The state of one run as its events arrive."""

    tasks: dict[str, TaskView] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    step: str = ""
    answer: str | None = None
    result: dict[str, Any] | None = None
    approval: dict[str, Any] | None = None
    thread_id: str = ""

    def apply(self, event: Event) -> None:
        """Fold one event into the view."""
        self.thread_id = event.thread_id or self.thread_id
        handler = getattr(self, f"_on_{event.kind}", None)
        line = handler(event.data) if handler else self._generic(event)
        if event.kind == "step":
            self.step = event.step
        if line and len(self.log) < MAX_LOG:
            self.log.append(line)

    def _task(self, task_id: Any) -> TaskView | None:
        return self.tasks.get(str(task_id)) if task_id is not None else None

    def _on_step(self, data: dict[str, Any]) -> str | None:
        return None

    def _on_plan(self, data: dict[str, Any]) -> str:
        plan = data["plan"]
        old = self.tasks
        self.tasks = {}
        for t in plan["tasks"]:
            view = TaskView(t["id"], t["description"], list(t.get("depends_on") or []))
            view.agent = t.get("agent")
            kept = old.get(t["id"])
            if kept and kept.state != "waiting":
                view = kept
            self.tasks[t["id"]] = view
        edited = " (edited)" if data.get("edited") else ""
        return f"🗺 plan{edited}: {len(plan['tasks'])} task(s)"

    def _on_plan_grown(self, data: dict[str, Any]) -> str:
        for t in data["tasks"]:
            view = TaskView(t["id"], t["description"], list(t.get("depends_on") or []))
            view.agent = t.get("agent")
            self.tasks.setdefault(t["id"], view)
        return f"🗺 plan grew by {len(data['tasks'])}: {len(self.tasks)} task(s)"

    def _on_approval(self, data: dict[str, Any]) -> str:
        self.approval = data.get("plan")
        if self.approval and not self.tasks:
            self._on_plan({"plan": self.approval})
        return "✋ waiting for your approval of the plan"

    def _on_approved(self, data: dict[str, Any]) -> str:
        self.approval = None
        return "👍 plan approved"

    def _on_rejected(self, data: dict[str, Any]) -> str:
        self.approval = None
        reason = data.get("reason")
        return "👎 plan rejected" + (f": {clip(reason)}" if reason else "")

    def _on_discovered(self, data: dict[str, Any]) -> str:
        task = self._task(data.get("task_id"))
        found = data.get("candidates") or []
        names = [str(c["agent"]) for c in found]
        denial = _DENIED.match(str(data.get("reason") or "")) if not names else None
        if task:
            task.candidates = names
            task.agent = task.agent or (names[0] if names else None)
            if not names:
                task.error = str(data.get("reason") or "no agent matches")
        if denial:
            agents = re.findall(r"'([^']+)'", denial[2])
            if task:
                task.denied, task.state = agents, "denied"
            shown = ", ".join(agents[:6]) + (", …" if len(agents) > 6 else "")
            return f"⛔ {code(data.get('task_id'))} policy denied **{denial[1]}** → {shown}"
        ranked = ", ".join(f"**{c['agent']}** ({float(c['score']):.2f})" for c in found)
        return f"🔎 {code(data.get('task_id'))} → " + (
            ranked or f"no agent: {clip(data.get('reason'))}"
        )

    def _on_task_started(self, data: dict[str, Any]) -> str:
        task = self._task(data.get("task_id"))
        if task:
            task.agent, task.attempts = data.get("agent"), int(data.get("attempt") or 1)
            task.state = "running"
        agent, attempt = data.get("agent"), data.get("attempt")
        return f"▶ {code(data.get('task_id'))} on **{agent}**, attempt {attempt}"

    def _on_retry(self, data: dict[str, Any]) -> str:
        task = self._task(data.get("task_id"))
        if task:
            task.state, task.error = "retrying", str(data.get("error") or "")
        return (
            f"↻ {code(data.get('task_id'))} retrying {data.get('agent')}: {clip(data.get('error'))}"
        )

    def _on_reassigned(self, data: dict[str, Any]) -> str:
        task = self._task(data.get("task_id"))
        if task:
            task.agent = data.get("agent")
        return (
            f"⇄ {code(data.get('task_id'))} reassigned to **{data.get('agent')}**"
            f" after: {clip(data.get('after'))}"
        )

    def _on_policy_denied(self, data: dict[str, Any]) -> str:
        task = self._task(data.get("task_id"))
        agent = str(data.get("agent"))
        if task and not str(data.get("user", "")).startswith("agent:"):
            task.denied.append(agent)
            task.state = "denied"
        topic = f" topic {data['topic']}" if data.get("topic") else ""
        return f"⛔ policy denied **{data.get('user')}** → {agent}{topic}"

    def _on_waiting(self, data: dict[str, Any]) -> str:
        return f"… {code(data.get('task_id'))} on {data.get('agent')} waits for another agent"

    def _on_message(self, data: dict[str, Any]) -> str:
        envelope = data.get("envelope") or {}
        if hasattr(envelope, "model_dump"):
            envelope = envelope.model_dump(mode="json")
        self.messages.append(envelope)
        to = envelope.get("recipient") or envelope.get("topic") or "everyone"
        payload = clip(json.dumps(envelope.get("payload") or {}, ensure_ascii=False), 100)
        kind, sender = envelope.get("kind", "message"), envelope.get("sender")
        return f"✉ {kind} **{sender}** → {to}: {code(payload)}"

    def _on_task_finished(self, data: dict[str, Any]) -> str:
        r = data["result"]
        task = self._task(r["task_id"])
        status = str(r["status"])
        if task:
            task.agent = r.get("agent") or task.agent
            task.attempts = int(r.get("attempts") or task.attempts)
            task.output, task.error = str(r.get("output") or ""), str(r.get("error") or "")
            denied_only = status == "failed" and task.denied and _all_denials(task.error)
            task.state = "denied" if denied_only else status
            status = task.state
        detail = r.get("output") if r["status"] == "succeeded" else r.get("error")
        who = f" by **{r['agent']}**" if r.get("agent") and r["status"] == "succeeded" else ""
        return f"{ICONS.get(status, '•')} {code(r['task_id'])} {status}{who}: {clip(detail)}"

    def _on_answer(self, data: dict[str, Any]) -> str:
        self.answer = str(data.get("answer") or "")
        return "💬 answer ready"

    def _on_done(self, data: dict[str, Any]) -> str | None:
        self.result = data.get("result")
        if self.result and self.answer is None:
            self.answer = str(self.result.get("answer") or "")
        return None

    def _generic(self, event: Event) -> str:
        body = clip(json.dumps(event.data, ensure_ascii=False, default=str), 120)
        return f"• {event.kind}: {code(body)}"

    @property
    def finished(self) -> bool:
        return self.result is not None

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATES, 0)
        for task in self.tasks.values():
            counts[task.state] = counts.get(task.state, 0) + 1
        return counts

    def table(self) -> list[list[str]]:
        """Rows for the plan table: task, what, agent, state (with the attempt), note."""
        rows = []
        for t in self.tasks.values():
            state = f"{ICONS.get(t.state, '')} {t.state}".strip()
            if t.attempts > 1:
                state += f" · attempt {t.attempts}"
            rows.append([t.id, clip(t.description, 80), t.agent or "", state, clip(t.note, 70)])
        return rows

    def summary(self) -> str:
        """One line: how far the run is."""
        counts = self.counts()
        done = sum(counts[s] for s in ("succeeded", "failed", "denied", "skipped"))
        parts = [f"{counts[s]} {s}" for s in STATES[1:] if counts[s]]
        where = f" · {self.step}" if self.step and not self.finished else ""
        return (
            f"{done}/{len(self.tasks)} tasks done"
            + (f" ({', '.join(parts)})" if parts else "")
            + where
        )

    def progress_markdown(self) -> str:
        return "\n".join(f"- {line}" for line in self.log) or "- starting…"

    def answer_markdown(self) -> str:
        """The answer, then who did what, as Markdown."""
        answer = _POWER.sub(r"\*\*", self.answer or "(no answer)")  # 2**10 is not bold
        lines = [answer, "", "**Who did what**", ""]
        lines += ["| task | agent | status | attempts |", "| --- | --- | --- | --- |"]
        for t in self.tasks.values():
            cell = clip(t.description, 60).replace("|", "\\|")
            state = f"{ICONS.get(t.state, '')} {t.state}"
            lines.append(f"| {t.id}: {cell} | {t.agent or '—'} | {state} | {t.attempts} |")
        denied = [t for t in self.tasks.values() if t.state == "denied"]
        if denied:
            who = ", ".join(sorted({a for t in denied for a in t.denied}))
            lines += ["", f"⛔ **Denied by policy**: you may not engage {who}."]
        return "\n".join(lines)


def _all_denials(error: str) -> bool:
    parts = [p.strip() for p in error.split(";") if p.strip()]
    return bool(parts) and all(p.startswith("policy denied") for p in parts)

"""GenAI service: writes plans and final answers.

With no model configured the offline planner and the template synthesiser serve, so
the mesh does its main job on a fresh machine with no key. The offline planner is
deterministic and simple on purpose:

- a request is split into parts at sentence ends, at "then" / "after that" / "and then",
  and at "and" / "also" / ";" when what follows starts a new instruction (a verb such as
  "count" or "compute", or a question word);
- quoted text is never split;
- "then", "after that", "finally" and references to an earlier result ("the result",
  "that", "it", "the answer") make a part depend on the part before it;
- each part becomes a task whose capability is its own text; discovery picks the agent.

It does not resolve references further back than the previous part, nor understand
nested clauses; configure an LLM for those.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from mesh.errors import ConfigError, InputError, PlanError
from mesh.models import Plan, Task, TaskResult
from mesh.settings import Settings

if TYPE_CHECKING:
    from mesh.registry import Registry
    from mesh.usage import RunMeters

MAX_REQUEST_CHARS = 20_000

_INSTRUCTION_WORDS = {
    "add", "analyse", "analyze", "answer", "ask", "calculate", "check", "compare", "compute",
    "convert", "count", "create", "define", "describe", "divide", "draft", "evaluate",
    "explain", "extract", "find", "get", "give", "how", "list", "look", "measure",
    "multiply", "name", "search", "show", "solve", "subtract", "sum", "summarise",
    "summarize", "tell", "translate", "what", "what's", "whats", "when", "where", "which",
    "who", "why", "work", "write",
}  # fmt: skip
_SEQUENCE = re.compile(r"^(then|after that|afterwards|finally|next)\b[,:]?\s*", re.IGNORECASE)
_REFERENCE = re.compile(
    r"\b(the|that|this|its) (result|answer|output|number|value|sum|total|summary)\b"
    r"|\b(it|that|them)\b\s*[.?!]?$|\bprevious\b",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|“[^”]*”")
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+(?=[A-Z\"'“])")
_SOFT_SPLIT = re.compile(
    r"\s*;\s*|,?\s+(?:and then|then|after that|and also|also|and)\s+", re.IGNORECASE
)


def check_request(request: str) -> str:
    """The request stripped, or an InputError saying what is wrong with it."""
    if not isinstance(request, str):
        raise InputError(f"the request must be text, got {type(request).__name__}")
    text = request.strip()
    if not text:
        raise InputError("the request is empty: say what you want done")
    if len(text) > MAX_REQUEST_CHARS:
        raise InputError(
            f"the request has {len(text)} characters, over {MAX_REQUEST_CHARS}: shorten it or"
            " put long material in a task input"
        )
    return text


def split_request(request: str) -> list[tuple[str, bool]]:
    """Parts of a request in order, each with whether it follows from the part before."""
    quotes: list[str] = []

    def hide(match: re.Match[str]) -> str:
        quotes.append(match.group(0))
        return f"\x00{len(quotes) - 1}\x00"

    masked = _QUOTED.sub(hide, request)
    parts: list[tuple[str, bool]] = []
    for sentence in _SENTENCE_END.split(masked):
        pieces = _split_soft(sentence)
        for index, (piece, sequenced) in enumerate(pieces):
            text = re.sub(r"\x00(\d+)\x00", lambda m: quotes[int(m.group(1))], piece).strip()
            text = text.strip(" ,;")
            if not text:
                continue
            follows = sequenced or (index == 0 and bool(_SEQUENCE.match(text)))
            text = _SEQUENCE.sub("", text).strip() or text
            follows = follows or bool(parts and _REFERENCE.search(text))
            parts.append((text, follows and bool(parts)))
    return parts


def _split_soft(sentence: str) -> list[tuple[str, bool]]:
    pieces: list[tuple[str, bool]] = []
    start, sequenced = 0, False
    for match in _SOFT_SPLIT.finditer(sentence):
        rest = sentence[match.end() :]
        first = rest.split(maxsplit=1)[0].lower().strip(",:") if rest.strip() else ""
        connector = match.group(0).strip().lower()
        is_sequence = "then" in connector or "after" in connector
        if not (is_sequence or connector == ";" or first in _INSTRUCTION_WORDS):
            continue
        pieces.append((sentence[start : match.start()], sequenced))
        start, sequenced = match.end(), is_sequence
    pieces.append((sentence[start:], sequenced))
    return pieces


class OfflinePlanner:
    """Deterministic planner from the request's own wording; see the module docstring."""

    def plan(self, request: str, user: str = "local", **_: Any) -> Plan:
        text = check_request(request)
        parts = split_request(text)
        if not parts:
            raise PlanError(f"could not find any instruction in {text!r}: rephrase the request")
        tasks = []
        for index, (part, follows) in enumerate(parts, start=1):
            depends = [f"t{index - 1}"] if follows and index > 1 else []
            tasks.append(
                Task(id=f"t{index}", description=part, capability=part, depends_on=depends)
            )
        return Plan(tasks=tasks, rationale="offline planner: split on instructions and order words")

    def replan(
        self,
        request: str,
        plan: Plan,
        results: dict[str, TaskResult],
        failure: str | None = None,
        **_: Any,
    ) -> Plan:
        """A revised plan for the remaining work, by the only moves that need no model.

        A failed task whose text holds several instructions is split into them; a failed
        task whose capability differs from its own words is searched by its words. A
        failed task neither move changes is dropped, with the tasks that need it. If no
        task changes, a PlanError says the offline planner cannot revise this plan.
        """
        failed = {t.id for t in plan.tasks if _status(results, t.id) == "failed"}
        replaced: dict[str, list[Task]] = {}
        for task in plan.tasks:
            if task.id in failed and task.agent is None:
                revised = _offline_revision(task)
                if revised:
                    replaced[task.id] = revised
        if not replaced:
            raise PlanError(
                f"the offline planner cannot revise this plan: the failed task(s)"
                f" {sorted(failed) or '(none)'} hold one instruction each and were already"
                " searched by their own words; configure a model (OPENAI_BASE_URL) to replan,"
                " or register an agent that can do them"
            )
        dropped = failed - replaced.keys()
        tasks: list[Task] = []
        for task in plan.tasks:
            if task.id in replaced:
                tasks.extend(replaced[task.id])
                continue
            if task.id in dropped:
                continue
            deps = [replaced[d][-1].id if d in replaced else d for d in task.depends_on]
            if any(d in dropped for d in deps):
                dropped.add(task.id)
                continue
            tasks.append(task.model_copy(update={"depends_on": deps}))
        return Plan(tasks=tasks, rationale=f"offline replan after: {failure or 'task failures'}")


def _offline_revision(task: Task) -> list[Task]:
    parts = split_request(task.description)
    if len(parts) > 1:
        out: list[Task] = []
        for index, (part, follows) in enumerate(parts, start=1):
            deps = list(task.depends_on) if index == 1 else []
            if follows and out:
                deps.append(out[-1].id)
            out.append(
                Task(
                    id=f"{task.id}.{index}",
                    description=part,
                    capability=part,
                    depends_on=deps,
                    inputs=task.inputs,
                )
            )
        return out
    if task.capability and task.capability.strip() != task.description.strip():
        return [task.model_copy(update={"id": f"{task.id}.r", "capability": task.description})]
    return []


def _status(results: dict[str, TaskResult], task_id: str) -> str | None:
    result = results.get(task_id)
    return result.status if result is not None else None


class PlanChange(BaseModel):
    """How a revised plan differs from the one before, for the user to see."""

    kept: list[str]
    added: list[str]
    removed: list[str]
    changed: list[str]

    @property
    def summary(self) -> str:
        bits = [
            f"{label} {', '.join(ids)}"
            for label, ids in (
                ("added", self.added),
                ("removed", self.removed),
                ("changed", self.changed),
            )
            if ids
        ]
        return "plan revised: " + ("; ".join(bits) if bits else "no change")


def plan_change(old: Plan, new: Plan) -> PlanChange:
    before = {t.id: t for t in old.tasks}
    after = {t.id: t for t in new.tasks}
    return PlanChange(
        kept=[i for i in after if i in before and after[i] == before[i]],
        added=[i for i in after if i not in before],
        removed=[i for i in before if i not in after],
        changed=[i for i in after if i in before and after[i] != before[i]],
    )


def wants_llm(settings: Settings) -> bool:
    """Whether the settings ask for the model: MESH_PLANNER, else whether one is configured."""
    if settings.planner == "offline":
        return False
    if settings.planner == "llm" and not settings.llm_configured:
        raise ConfigError(
            "MESH_PLANNER=llm but no model is configured: set OPENAI_BASE_URL (a local"
            " OpenAI-compatible server) or OPENAI_API_KEY, or use MESH_PLANNER=auto"
        )
    return settings.llm_configured


def make_planner(
    settings: Settings, registry: Registry | None = None, meters: RunMeters | None = None
) -> Any:
    """The LLM planner when a model is configured (see `wants_llm`), else the offline one."""
    if not wants_llm(settings):
        return OfflinePlanner()
    from mesh.llm import make_chat_model
    from mesh.llm_planner import LLMPlanner

    return LLMPlanner(make_chat_model(settings), registry, settings, meters)


def make_synthesizer(settings: Settings, meters: RunMeters | None = None) -> Any:
    """The model writes the answer when configured; the template otherwise."""
    if not wants_llm(settings):
        return TemplateSynthesizer()
    from mesh.llm import LLMSynthesizer, make_chat_model

    return LLMSynthesizer(make_chat_model(settings), TemplateSynthesizer(), meters)


class TemplateSynthesizer:
    """The final answer from the task results, saying which agent produced what."""

    def synthesize(self, request: str, plan: Plan, results: dict[str, TaskResult], **_: Any) -> str:
        lines = []
        for task in plan.tasks:
            result = results.get(task.id)
            if result is None:
                lines.append(f"- {task.description}: not run")
            elif result.status == "succeeded":
                lines.append(f"- {task.description}: {result.output} (by {result.agent})")
            else:
                lines.append(f"- {task.description}: {result.status} — {result.error}")
        if len(plan.tasks) == 1 and results.get(plan.tasks[0].id) is not None:
            only = results[plan.tasks[0].id]
            if only.status == "succeeded":
                return f"{only.output}\n\n(answered by {only.agent})"
        return "\n".join(lines)

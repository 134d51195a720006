"""GenAI service: writes plans and final answers.

`make_planner` and `make_synthesizer` pick the model when one is configured
(`mesh.llm_planner`, `mesh.llm`) and otherwise the offline planner and the template
synthesiser, so the mesh does its main job on a fresh machine with no key. The offline
planner reads the request by rules (`mesh.offline`: parts, order, references) and is
deterministic; discovery then picks an agent for each part's capability.

Both planners can `replan`: given the plan, its results and the failure, they write a
revised plan for the remaining work in which succeeded tasks are kept unchanged;
`plan_change` says what changed, for the user to see.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from mesh.errors import ConfigError, InputError, PlanError
from mesh.models import Plan, Task, TaskResult
from mesh.offline import parse_request, read_request, split_request
from mesh.settings import Settings

if TYPE_CHECKING:
    from mesh.llm import LLMSynthesizer
    from mesh.llm_planner import LLMPlanner
    from mesh.registry import Registry
    from mesh.usage import RunMeters

__all__ = [
    "OfflinePlanner",
    "PlanChange",
    "TemplateSynthesizer",
    "check_request",
    "make_planner",
    "make_synthesizer",
    "parse_request",
    "plan_change",
    "split_request",
    "wants_llm",
]

MAX_REQUEST_CHARS = 20_000


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


class OfflinePlanner:
    """Deterministic planner from the request's own wording; see the module docstring."""

    def plan(self, request: str, user: str = "local", **_: Any) -> Plan:
        text = check_request(request)
        parts, context = read_request(text)
        if not parts:
            raise PlanError(f"could not find any instruction in {text!r}: rephrase the request")
        tasks = [
            Task(
                id=f"t{index}",
                description=part.text,
                capability=part.capability,
                depends_on=[f"t{d + 1}" for d in part.depends_on],
            )
            for index, part in enumerate(parts, start=1)
        ]
        rationale = "offline planner: split on instructions and order words"
        if context:  # shown, not dropped in silence
            rationale += "; read as context, not as asks: " + " ".join(context)
        return Plan(tasks=tasks, rationale=rationale)

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
    parts = parse_request(task.description)
    if len(parts) > 1:
        return [
            Task(
                id=f"{task.id}.{index}",
                description=part.text,
                capability=part.capability,
                depends_on=[*task.depends_on, *(f"{task.id}.{d + 1}" for d in part.depends_on)],
                inputs=task.inputs,
            )
            for index, part in enumerate(parts, start=1)
        ]
    # A capability that is the words with asides dropped was already the better search.
    if task.capability and task.capability.strip() not in task.description:
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
    settings: Settings,
    registry: Registry | None = None,
    meters: RunMeters | None = None,
    may_engage: Callable[[str, str], bool] | None = None,
) -> OfflinePlanner | LLMPlanner:
    """The LLM planner when a model is configured (see `wants_llm`), else the offline one.

    `may_engage(user, agent)` keeps agents a user may not dispatch out of the LLM's
    catalogue; without it every matching agent is shown.
    """
    if not wants_llm(settings):
        return OfflinePlanner()
    from mesh.llm import make_chat_model
    from mesh.llm_planner import LLMPlanner

    return LLMPlanner(make_chat_model(settings), registry, settings, meters, may_engage)


def make_synthesizer(
    settings: Settings, meters: RunMeters | None = None
) -> TemplateSynthesizer | LLMSynthesizer:
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

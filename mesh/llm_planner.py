"""The LLM planner: a `Plan` from any OpenAI-compatible model, checked and repaired.

The prompt carries a capability catalogue: the agents discovery finds for the request
(and for each of its parts), with their skills — never the whole registry. The model
answers in the `Plan` JSON schema, through ``response_format`` (``json_schema``) or a
forced tool call (``function_calling``). Its reply is read strictly and must pass the
same checks as any plan (shape, ids, dependencies, cycles, size, pinned agents known);
when it does not, the problem goes back to the model, at most `llm_max_repairs` times
(each announced to streaming UIs as a ``plan_repair`` event), then a `PlanError` names
the last problem.

`replan` receives the failure of a run and writes a revised plan for the remaining
work: succeeded tasks stay exactly as they were (so their results are kept), failed
and skipped ones are replaced or dropped, and a failed task may not come back unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import ValidationError

from mesh.errors import PlanError
from mesh.genai import check_request, split_request
from mesh.llm import call_model, describe_model, raw_text, read_json, results_digest
from mesh.models import Match, Plan, Task, TaskResult, check_plan
from mesh.registry import Registry
from mesh.settings import Settings
from mesh.usage import RunMeters, UsageMeter

PLAN_TOOL = "Plan"
MAX_SKILLS = 6
MAX_EXAMPLES = 2
RELATIVE_FLOOR = 0.5  # an agent far below a query's best match is noise to the model

_TASK_FIELDS = {
    "id": "short unique id such as t1, t2",
    "description": (
        "the instruction the agent receives, self-contained: every number, text or name it"
        " needs, since the agent never sees the request"
    ),
    "capability": "a short phrase naming the skill needed, in the words of the catalogue",
    "agent": "an agent's exact name from the catalogue to pin this task to it; else null",
    "depends_on": "ids of the tasks whose results this task needs; none for independent work",
    "inputs": 'named values for the agent, e.g. {"expression": "17 * 23"}; often empty',
}

SYSTEM = """You are the planner of Agentic Mesh. You turn a user's request into a plan: \
tasks that agents will run. Rules:
- One task per distinct piece of work; a single question is a single task.
- Each task has a unique id, a self-contained description (the agent sees only its task \
and the results of the tasks it depends on), and a capability phrase.
- depends_on lists the ids whose results a task needs; tasks without dependencies between \
them run in parallel. No cycles, no unknown ids.
- Set agent only to pin an agent named in the catalogue; otherwise null, and discovery \
picks the best agent.
- Plan only work that the catalogue's agents can do.
Reply with the plan only, as the Plan JSON object."""

REPLAN = """Some tasks of the plan below failed for good. Write a revised plan for the \
remaining work of the same request.
- Keep every succeeded task exactly as it is: same id, description, capability, agent, \
depends_on and inputs. Its result is kept and it will not run again.
- Replace or drop the failed and skipped tasks. New tasks may depend on succeeded ones.
- Do not repeat a failed task unchanged: change its capability, description or agent \
(another one from the catalogue), or drop it if no agent can do it."""


def plan_schema() -> dict[str, Any]:
    """The JSON schema of `Plan`, with a line per task field telling the model its use."""
    schema = Plan.model_json_schema()
    schema["description"] = "A plan: tasks that agents run, with their dependencies."
    task = schema["$defs"]["Task"]
    for name, text in _TASK_FIELDS.items():
        task["properties"][name]["description"] = text
    schema["properties"]["rationale"]["description"] = "one sentence: why these tasks"
    return schema


def describe_problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        shown = [
            f"{'.'.join(str(p) for p in e['loc']) or 'plan'}: {e['msg']}" for e in exc.errors()[:8]
        ]
        more = len(exc.errors()) - len(shown)
        return (
            "the plan does not fit the schema: "
            + "; ".join(shown)
            + (f" (and {more} more)" if more > 0 else "")
        )
    return str(exc)


class LLMPlanner:
    """Writes plans with a chat model; see the module docstring."""

    def __init__(
        self,
        model: BaseChatModel,
        registry: Registry | None = None,
        settings: Settings | None = None,
        meters: RunMeters | None = None,
        may_engage: Callable[[str, str], bool] | None = None,
    ) -> None:
        self.model = model
        self.registry = registry
        self.may_engage = may_engage
        self.settings = settings or Settings()
        self.meters = meters or RunMeters()
        self._structured = self._shape(model)

    def _shape(self, model: BaseChatModel) -> Any:
        return model.with_structured_output(
            plan_schema(), method=self.settings.llm_method, include_raw=True
        )

    def plan(self, request: str, user: str = "local", *, meter: UsageMeter | None = None) -> Plan:
        text = check_request(request)
        parts = [part for part, _ in split_request(text)]
        messages: list[BaseMessage] = [
            SystemMessage(SYSTEM),
            HumanMessage(f"Request: {text}\n\n{self.catalogue([text, *parts], user)}"),
        ]
        return self._write(messages, lambda new: self._check(new, user), meter, "plan")

    def replan(
        self,
        request: str,
        plan: Plan,
        results: dict[str, TaskResult],
        failure: str | None = None,
        *,
        user: str = "local",
        meter: UsageMeter | None = None,
    ) -> Plan:
        """A revised plan for the remaining work after `failure`; see the module docstring."""
        unfinished = [t for t in plan.tasks if _status(results, t.id) != "succeeded"]
        if not unfinished:
            raise PlanError("nothing to replan: every task of the plan succeeded")
        digest = json.dumps(
            {
                "tasks": [t.model_dump(mode="json") for t in plan.tasks],
                "results": results_digest(plan, results),
            },
            ensure_ascii=False,
            indent=1,
        )
        queries = [request] if request.strip() else []
        queries += [t.need for t in unfinished]
        why = failure or "; ".join(
            f"{t.id}: {results[t.id].error}"
            for t in unfinished
            if t.id in results and results[t.id].error
        )
        messages: list[BaseMessage] = [
            SystemMessage(SYSTEM),
            HumanMessage(
                f"Request: {request or '(a given plan)'}\n\nThe plan and its results:\n{digest}"
                f"\n\nWhat failed: {why}\n\n{REPLAN}\n\n{self.catalogue(queries, user)}"
            ),
        ]
        return self._write(
            messages, lambda new: self._check_revision(new, plan, results, user), meter, "replan"
        )

    def catalogue(self, queries: list[str], user: str = "local") -> str:
        """The agents discovery finds for `queries`, best first, with their skills.

        Each query (the request and each of its parts) keeps the matches above the
        discovery floor and at least half as good as its best one. Agents `user` may not
        engage are left out, so the model neither plans around them nor learns of them.
        """
        if self.registry is None:
            return "Catalogue: none given; name capabilities in plain words."
        best: dict[str, Match] = {}
        k = self.settings.llm_catalogue_size
        for query in dict.fromkeys(q for q in queries if q.strip()):
            found = self.registry.search(query, k=k)
            floor = max(self.settings.min_score, found[0].score * RELATIVE_FLOOR if found else 0)
            for match in found:
                if match.score < floor or not self._engageable(user, match.card.name):
                    continue
                if match.card.name not in best or match.score > best[match.card.name].score:
                    best[match.card.name] = match
        ranked = sorted(best.values(), key=lambda m: (-m.score, m.card.name))[:k]
        if not ranked:
            return "Catalogue: no registered agent matches this request."
        lines = ["Catalogue of the agents that match this request:"]
        for match in ranked:
            card = match.card
            lines.append(f"- agent {card.name}: {card.description}")
            for skill in card.skills[:MAX_SKILLS]:
                examples = "; ".join(skill.examples[:MAX_EXAMPLES])
                lines.append(
                    f"  - skill {skill.name}: {skill.description}"
                    + (f" (e.g. {examples})" if examples else "")
                )
        return "\n".join(lines)

    def _engageable(self, user: str, agent: str) -> bool:
        return self.may_engage is None or self.may_engage(user, agent)

    def _check(self, plan: Plan, user: str) -> None:
        check_plan(plan.tasks, self.settings.max_tasks)
        if self.registry is None:
            return
        for task in plan.tasks:
            if task.agent and (
                task.agent not in self.registry or not self._engageable(user, task.agent)
            ):
                raise PlanError(
                    f"task {task.id!r} pins agent {task.agent!r}, which is not in the"
                    " catalogue: use a name from the catalogue or set agent to null"
                )

    def _check_revision(
        self, new: Plan, old: Plan, results: dict[str, TaskResult], user: str
    ) -> None:
        self._check(new, user)
        by_id = {t.id: t for t in new.tasks}
        for task in old.tasks:
            if _status(results, task.id) != "succeeded":
                continue
            kept = by_id.get(task.id)
            if kept is None or kept != task:
                raise PlanError(
                    f"task {task.id!r} already succeeded: keep it in the plan exactly as it"
                    f" was ({task.model_dump_json()})"
                )
        failed = {_work(t): t.id for t in old.tasks if _status(results, t.id) == "failed"}
        for task in new.tasks:
            if _status(results, task.id) != "succeeded" and _work(task) in failed:
                raise PlanError(
                    f"task {task.id!r} repeats failed task {failed[_work(task)]!r} unchanged:"
                    " change its capability, description or agent, or drop it"
                )

    def _write(
        self,
        messages: list[BaseMessage],
        check: Callable[[Plan], None],
        meter: UsageMeter | None,
        purpose: str,
    ) -> Plan:
        meter = meter or self.meters.current()
        tries = 1 + self.settings.llm_max_repairs
        problem = ""
        for attempt in range(tries):
            out = call_model(
                self._structured,
                messages,
                meter=meter,
                purpose=purpose if attempt == 0 else f"{purpose}-repair",
                model=self.model,
                shape=self._shape,
            )
            raw = out.get("raw") if isinstance(out, dict) else out
            try:
                plan = Plan.model_validate(read_json(raw, PLAN_TOOL))
                check(plan)
                return plan
            except (ValueError, PlanError) as exc:
                problem = describe_problem(exc)
            if attempt + 1 < tries:
                _announce({"kind": "plan_repair", "attempt": attempt + 1, "problem": problem})
            messages = [
                *messages,
                AIMessage(raw_text(raw)[:4000] or "(nothing)"),
                HumanMessage(
                    f"That plan was rejected: {problem}\nReply with the whole corrected plan."
                ),
            ]
        raise PlanError(
            f"the {describe_model(self.model)} did not write a valid plan in {tries} tries; the"
            f" last problem: {problem}. Use a stronger model, raise MESH_LLM_MAX_REPAIRS, or set"
            " MESH_PLANNER=offline"
        )


def _announce(event: dict[str, Any]) -> None:
    """Tell a streaming UI that the plan goes back to the model; nothing outside a graph."""
    from langgraph.config import get_stream_writer

    try:
        write = get_stream_writer()
    except RuntimeError:
        return
    write({"step": "plan", **event})


def _status(results: dict[str, TaskResult], task_id: str) -> str | None:
    result = results.get(task_id)
    return result.status if result is not None else None


def _work(task: Task) -> tuple[str, str | None, str | None]:
    return (task.description.strip().lower(), task.capability, task.agent)

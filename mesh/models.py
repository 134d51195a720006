"""The pydantic models that cross a boundary: cards, plans, tasks, results, envelopes.

They are the mesh's contract with agents, the planner, the UI and other processes, so
they validate eagerly and say which field is wrong and how to fix it.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from mesh.errors import AgentError, PlanError
from mesh.usage import Usage

NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
_NAME_RE = re.compile(NAME_PATTERN)
TOPIC_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$"
_TOPIC_RE = re.compile(TOPIC_PATTERN)
DEFAULT_MAX_TASKS = 500


def _check_name(value: str, what: str) -> str:
    if not _NAME_RE.match(value):
        raise ValueError(
            f"{what} {value!r} is not valid: use 1-64 lowercase letters, digits, '_', '.' or"
            " '-', starting with a letter or digit (e.g. 'weather' or 'csv-analyst')"
        )
    return value


def check_topic(value: str, what: str = "topic") -> str:
    """A topic is a name a policy line can hold (``topic:<name>``): no spaces or commas."""
    if not _TOPIC_RE.fullmatch(value):
        raise ValueError(
            f"{what} {value!r} is not a topic name: use 1-128 letters, digits, '_', '.', ':',"
            " '/' or '-', starting with a letter or digit (e.g. 'reports' or 'tides.updates')"
        )
    return value


def check_subscription(value: str) -> str:
    """A subscription is a topic or a pattern of dot-separated words in which ``*`` stands
    for exactly one word and ``#`` for any number of them, RabbitMQ-style:
    ``orders.*`` hears ``orders.new``, ``orders.#`` also hears ``orders`` and
    ``orders.eu.new``, ``#`` hears everything."""
    if "*" not in value and "#" not in value:
        return check_topic(value, "subscribed topic")
    words = value.split(".")
    probe = ".".join("x" if w in ("*", "#") else w for w in words)  # a topic, wildcards aside
    if "" in words or not _TOPIC_RE.fullmatch(probe):
        raise ValueError(
            f"subscribed topic {value!r} is not a topic pattern: separate words with '.', use"
            " '*' for exactly one word and '#' for any number, each as a whole word"
            " (e.g. 'orders.*' or 'alerts.#'), other words as in topic names; 128"
            " characters at most"
        )
    return value


def topic_matches(pattern: str, topic: str) -> bool:
    """Whether a subscription (a topic or a pattern, see `check_subscription`) hears `topic`."""
    if "*" not in pattern and "#" not in pattern:
        return pattern == topic
    words = topic.split(".")
    reach = [True] + [False] * len(words)  # reach[j]: the pattern so far matches words[:j]
    for part in pattern.split("."):
        if part == "#":
            for j in range(1, len(reach)):
                reach[j] = reach[j] or reach[j - 1]
        else:
            reach = [False] + [
                reach[j] and (part == "*" or part == words[j]) for j in range(len(words))
            ]
    return reach[-1]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AgentState(StrEnum):
    AVAILABLE = "available"
    BUSY = "busy"
    DRAINING = "draining"
    OFFLINE = "offline"


MAX_DESCRIPTION_CHARS = 2000
"""The longest description a card or skill may have."""
MAX_QUERY_CHARS = 4000
"""The longest text discovery searches with."""
NEED_END_WORDS = 24
"""Words discovery reads at each end of a long task description (see `Task.need`)."""


class Skill(_Model):
    """One thing an agent can do; discovery matches queries against each skill."""

    name: str = Field(min_length=1, max_length=128)
    description: str = Field(min_length=1, max_length=MAX_DESCRIPTION_CHARS)
    tags: list[str] = Field(default_factory=list)
    examples: list[str] = Field(default_factory=list)
    input_modes: list[str] = Field(default_factory=lambda: ["text/plain"])
    output_modes: list[str] = Field(default_factory=lambda: ["text/plain"])


class AgentCard(_Model):
    """What an agent is and can do, in the spirit of A2A's agent card."""

    name: str
    description: str = Field(min_length=1, max_length=MAX_DESCRIPTION_CHARS)
    version: str = "0.1.0"
    owner: str = "local"
    skills: list[Skill] = Field(default_factory=list)
    endpoint: str = "local"
    tags: list[str] = Field(default_factory=list)
    state: AgentState = AgentState.AVAILABLE
    heartbeat_ttl: float | None = Field(default=None, gt=0)
    metadata: dict[str, Any] = Field(default_factory=dict)
    subscribes: list[str] = Field(default_factory=list)  # topics or patterns it hears

    @field_validator("name")
    @classmethod
    def _name_is_slug(cls, value: str) -> str:
        return _check_name(value, "agent name")

    @field_validator("subscribes")
    @classmethod
    def _topics_are_names(cls, value: list[str]) -> list[str]:
        for topic in value:
            check_subscription(topic)
        dupes = sorted({t for t in value if value.count(t) > 1})
        if dupes:
            raise ValueError(f"list each topic once; repeated: {dupes}")
        return value

    @model_validator(mode="after")
    def _skill_names_unique(self) -> AgentCard:
        names = [s.name for s in self.skills]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"skills: names must be unique within a card; repeated: {dupes}")
        return self


class Task(_Model):
    """One unit of work in a plan; `agent` pins an agent, else discovery picks one."""

    id: str = Field(min_length=1, max_length=128)
    description: str = Field(min_length=1)
    capability: str | None = None
    agent: str | None = None
    depends_on: list[str] = Field(default_factory=list)
    inputs: dict[str, Any] = Field(default_factory=dict)

    @field_validator("agent")
    @classmethod
    def _agent_is_name(cls, value: str | None) -> str | None:
        return None if value is None else _check_name(value, "task agent")

    @property
    def need(self) -> str:
        """The text discovery searches with: the capability, else the description.

        A need says what to do in a few words (the longest of the 2,582 asks in
        tests/data is 31). A longer one is mostly content the task carries ("please
        summarize <pasted text>"), which would outweigh the ask in both the embedding and
        the lexical match; discovery reads its first and last NEED_END_WORDS words, where
        the ask is, within MAX_QUERY_CHARS. The task itself still gets all of it."""
        words = (self.capability or self.description).split()
        if len(words) > 3 * NEED_END_WORDS:
            words = [*words[:NEED_END_WORDS], "…", *words[-NEED_END_WORDS:]]
        text = " ".join(words)
        if len(text) <= MAX_QUERY_CHARS:
            return text
        half = (MAX_QUERY_CHARS - 3) // 2
        return f"{text[:half]} … {text[-half:]}"


class Plan(_Model):
    """A DAG of tasks. Construction checks its shape; the size limit is the mesh's setting."""

    tasks: list[Task]
    rationale: str = ""

    @model_validator(mode="after")
    def _check_dag(self) -> Plan:
        check_plan(self.tasks, max_tasks=None)
        return self

    def task(self, task_id: str) -> Task:
        for t in self.tasks:
            if t.id == task_id:
                return t
        raise KeyError(task_id)


def check_plan(tasks: list[Task], max_tasks: int | None = DEFAULT_MAX_TASKS) -> None:
    """Raise PlanError naming the problem: empty, too big, duplicate ids, unknown deps, cycle."""
    if not tasks:
        raise PlanError("plan has no tasks: a plan needs at least one task")
    if max_tasks is not None and len(tasks) > max_tasks:
        raise PlanError(
            f"plan has {len(tasks)} tasks, over the limit of {max_tasks}: split the request"
            " or raise MESH_MAX_TASKS"
        )
    ids = [t.id for t in tasks]
    seen: set[str] = set()
    dupes = sorted({i for i in ids if i in seen or seen.add(i)})  # type: ignore[func-returns-value]
    if dupes:
        raise PlanError(f"plan repeats task ids {dupes}: give every task its own id")
    known = set(ids)
    for t in tasks:
        unknown = [d for d in t.depends_on if d not in known]
        if unknown:
            raise PlanError(
                f"task {t.id!r} depends on unknown task(s) {unknown}: known ids are {sorted(known)}"
            )
        if t.id in t.depends_on:
            raise PlanError(f"task {t.id!r} depends on itself: remove it from its depends_on")
    cycle = find_cycle({t.id: list(t.depends_on) for t in tasks})
    if cycle:
        raise PlanError(f"plan has a dependency cycle {' -> '.join(cycle)}: break one edge")


def find_cycle(deps: dict[str, list[str]]) -> list[str] | None:
    """A cycle in the dependency graph as a closed path of ids, or None (iterative DFS)."""
    white, grey, black = 0, 1, 2
    color = dict.fromkeys(deps, white)
    for root in deps:
        if color[root] != white:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        path: list[str] = []
        while stack:
            node, i = stack.pop()
            if i == 0:
                color[node] = grey
                path.append(node)
            children = deps.get(node, [])
            if i < len(children):
                stack.append((node, i + 1))
                child = children[i]
                if color.get(child) == grey:
                    return [*path[path.index(child) :], child]
                if color.get(child) == white:
                    stack.append((child, 0))
            else:
                color[node] = black
                path.pop()
    return None


class TaskRequest(_Model):
    """What an agent receives: the task, the outputs it depends on, and who asked."""

    task_id: str
    description: str
    capability: str | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    upstream: dict[str, TaskResult] = Field(default_factory=dict)
    user: str = "local"
    run_id: str = ""
    attempt: int = 1

    inbox: dict[str, Envelope] = Field(default_factory=dict)
    _channel: Any = PrivateAttr(default=None)

    @property
    def idempotency_key(self) -> str:
        """Stable across retries of the same task in the same run."""
        return f"{self.run_id}:{self.task_id}"

    def publish(self, topic: str, payload: dict[str, Any]) -> Envelope:
        """Publish on the mesh's message channel (see `mesh.bus`)."""
        return self._bus().publish(topic, payload)

    def request(
        self,
        text: str,
        *,
        agent: str | None = None,
        capability: str | None = None,
        inputs: dict[str, Any] | None = None,
    ) -> TaskResult:
        """Ask another agent by name or capability; returns its result (see `mesh.bus`)."""
        return self._bus().request(text, agent=agent, capability=capability, inputs=inputs)

    def _bus(self) -> Any:
        if self._channel is None:
            raise AgentError(
                "this TaskRequest is not attached to a running mesh: publish and request"
                " work only inside a task dispatched by the orchestrator"
            )
        return self._channel


TaskStatus = Literal["succeeded", "failed", "skipped"]


class TaskResult(_Model):
    task_id: str
    status: TaskStatus
    output: str = ""
    data: dict[str, Any] = Field(default_factory=dict)
    agent: str | None = None
    attempts: int = 0
    error: str | None = None


class Match(BaseModel):
    """One discovery hit: the agent, its best-matching skill and a score in [0, 1]."""

    card: AgentCard
    skill: Skill | None = None
    score: float


class RunResult(BaseModel):
    answer: str
    plan: Plan
    results: dict[str, TaskResult]
    thread_id: str
    usage: Usage | None = None  # model calls and tokens of the run; None if it used no model

    @property
    def ok(self) -> bool:
        return all(r.status == "succeeded" for r in self.results.values())


class Decision(BaseModel):
    """A policy decision, with the rule that decided it."""

    allowed: bool
    subject: str
    obj: str
    action: str
    reason: str
    rules: list[str] = Field(default_factory=list)  # the policy lines that matched

    def __bool__(self) -> bool:
        return self.allowed


class AuditRecord(BaseModel):
    seq: int
    ts: str
    principal: str
    action: str
    obj: str
    decision: str
    reason: str = ""
    run_id: str = ""
    task_id: str = ""
    prev_hash: str
    hash: str


class Envelope(_Model):
    """A message on the in-graph channel."""

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    topic: str
    sender: str
    recipient: str | None = None
    kind: Literal["publish", "request", "response"] = "publish"
    correlation_id: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)
    task_id: str | None = None
    ts: str = Field(default_factory=lambda: datetime.now(UTC).isoformat())
    signature: str = ""  # HMAC by the sender's key (mesh.identity); the gate checks it


class Event(BaseModel):
    """A progress event from a run, for UIs and notebooks."""

    kind: str
    step: str
    data: dict[str, Any] = Field(default_factory=dict)
    thread_id: str = ""


TaskRequest.model_rebuild()

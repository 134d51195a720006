"""Model usage per run, from the model's own figures, and the budgets that stop a run.

Every model call of a run goes through one `UsageMeter`: `check` before the call refuses
it once the run has used its calls or tokens (`BudgetExceeded`, with the reason kept in
`Usage.stopped`), and `record` after it adds the call and the token counts the server
reported in ``usage_metadata``. A call whose response carried no figures still counts as
a call and is tallied in `unmetered_calls`, so a missing figure never reads as zero cost.

With a token budget, a call is also sized before it is made: its prompt is estimated
(`estimate_tokens`, on the high side), a prompt that alone would not fit what is left is
refused, and the reply is capped at what is left after it (`output_allowance`), so a
call can overshoot the budget only by how far the estimate undershot its prompt.
`Usage` is a plain pydantic model, so the orchestrator can keep it in the checkpointed
state and a resumed run goes on from what it had used.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mesh.errors import BudgetExceeded
from mesh.settings import Settings


class Usage(BaseModel):
    """What a run has spent on the model so far."""

    model_config = ConfigDict(extra="forbid")

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    unmetered_calls: int = Field(default=0, description="calls whose response had no usage")
    calls_by_purpose: dict[str, int] = Field(default_factory=dict)
    stopped: str | None = Field(default=None, description="why a budget refused a call")


class Budget(BaseModel):
    """Limits per run; None is unlimited."""

    model_config = ConfigDict(frozen=True)

    max_calls: int | None = Field(default=None, ge=1)
    max_tokens: int | None = Field(default=None, ge=1)

    @classmethod
    def from_settings(cls, settings: Settings) -> Budget:
        return cls(max_calls=settings.llm_max_calls, max_tokens=settings.llm_max_tokens)


class UsageMeter:
    """Counts one run's model calls and tokens and enforces its budget. Thread-safe."""

    def __init__(self, budget: Budget | None = None, usage: Usage | dict[str, Any] | None = None):
        self.budget = budget or Budget()
        self._usage = Usage.model_validate(usage) if usage is not None else Usage()
        self._lock = threading.Lock()

    @property
    def usage(self) -> Usage:
        """A copy of the figures so far, safe to store in state or return to a user."""
        with self._lock:
            return self._usage.model_copy(deep=True)

    def check(self, purpose: str) -> None:
        """Raise BudgetExceeded if the run may not make another call for `purpose`."""
        with self._lock:
            reason = self._refusal(purpose)
            if reason is not None:
                self._usage.stopped = reason
                raise BudgetExceeded(reason)

    def _refusal(self, purpose: str) -> str | None:
        used, budget = self._usage, self.budget
        if budget.max_calls is not None and used.calls >= budget.max_calls:
            return (
                f"the run has made {used.calls} model calls, its budget of"
                f" {budget.max_calls} (MESH_LLM_MAX_CALLS), so the {purpose} call was not made:"
                " raise the budget or simplify the request"
            )
        if budget.max_tokens is not None and used.total_tokens >= budget.max_tokens:
            return (
                f"the run has used {used.total_tokens} model tokens, its budget is"
                f" {budget.max_tokens} (MESH_LLM_MAX_TOKENS), so the {purpose} call was not made:"
                " raise the budget or simplify the request"
            )
        return None

    def output_allowance(self, purpose: str, prompt_tokens: int) -> int | None:
        """The most tokens the reply to a prompt of `prompt_tokens` may use (None: no limit).

        Raises BudgetExceeded, like `check`, when the prompt alone would not fit.
        """
        self.check(purpose)
        limit = self.budget.max_tokens
        if limit is None:
            return None
        with self._lock:
            left = limit - self._usage.total_tokens - prompt_tokens
            if left >= 1:
                return left
            reason = (
                f"the {purpose} prompt (about {prompt_tokens} tokens) does not fit what is left"
                f" of the run's budget ({self._usage.total_tokens} of {limit} tokens used,"
                " MESH_LLM_MAX_TOKENS), so the call was not made: raise the budget or simplify"
                " the request"
            )
            self._usage.stopped = reason
        raise BudgetExceeded(reason)

    def record(self, message: Any, purpose: str) -> None:
        """Add one call and the token figures of its response (an AIMessage or None)."""
        figures = getattr(message, "usage_metadata", None) or None
        with self._lock:
            used = self._usage
            used.calls += 1
            used.calls_by_purpose[purpose] = used.calls_by_purpose.get(purpose, 0) + 1
            if not figures:
                used.unmetered_calls += 1
                return
            inp = int(figures.get("input_tokens") or 0)
            out = int(figures.get("output_tokens") or 0)
            used.input_tokens += inp
            used.output_tokens += out
            used.total_tokens += int(figures.get("total_tokens") or inp + out)


CHARS_PER_TOKEN = 3  # English averages ~4 with OpenAI's tokenizers: 3 errs on the high side
TOKENS_PER_MESSAGE = 4


def estimate_tokens(texts: list[str]) -> int:
    """A high-side token count of a prompt, with no tokenizer (tiktoken downloads its
    tables at run time, which the mesh may not do)."""
    return sum(len(t) // CHARS_PER_TOKEN + TOKENS_PER_MESSAGE for t in texts)


class RunMeters:
    """One meter per run, shared by the planner and the synthesiser of a mesh.

    A run is a LangGraph thread: inside a graph node `current()` finds the thread id in
    the node's config, so services need no extra argument. The most recent `keep` runs
    are remembered; outside a graph each call gets a fresh meter.
    """

    def __init__(self, budget: Budget | None = None, keep: int = 256) -> None:
        self.budget = budget or Budget()
        self._keep = keep
        self._meters: OrderedDict[str, UsageMeter] = OrderedDict()
        self._lock = threading.Lock()

    def for_run(self, run_id: str | None) -> UsageMeter:
        if not run_id:
            return UsageMeter(self.budget)
        with self._lock:
            meter = self._meters.get(run_id)
            if meter is None:
                meter = self._meters[run_id] = UsageMeter(self.budget)
                while len(self._meters) > self._keep:
                    self._meters.popitem(last=False)
            self._meters.move_to_end(run_id)
            return meter

    def current(self) -> UsageMeter:
        return self.for_run(current_run_id())

    def get(self, run_id: str) -> Usage | None:
        """The figures of a remembered run, or None if it made no model call here."""
        with self._lock:
            meter = self._meters.get(run_id)
        return meter.usage if meter is not None else None


def current_run_id() -> str | None:
    """The thread id of the LangGraph run this code is executing in, if any."""
    from langgraph.config import get_config

    try:
        return str(get_config()["configurable"]["thread_id"])
    except (KeyError, RuntimeError):
        return None

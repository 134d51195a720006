"""The language model behind the GenAI service: built, called, metered, read strictly.

`make_chat_model` builds `langchain_openai.ChatOpenAI` from the settings, so any
OpenAI-compatible server works (Ollama, vLLM, LM Studio, OpenAI itself). `call_model`
is the one door every model call goes through: the run's budget is checked first, the
call is counted with the figures the server reported, and a failure of the model
(timeout, 429 or 5xx after the client's retries, refused key, unknown model) becomes a
`ModelError` that says what to do. `read_json` reads a structured reply strictly:
LangChain's JSON output parser silently closes truncated JSON, which would let half a
plan through, so we never rely on it.

`LLMSynthesizer` writes the final answer from the results; when the model cannot (a
budget, a failure) the answer says so and gives the results as the agents wrote them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

import openai
from langchain_core.exceptions import ModelError as LCModelError
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable

from mesh.errors import BudgetExceeded, ConfigError, ModelError
from mesh.genai import TemplateSynthesizer
from mesh.models import Plan, TaskResult
from mesh.settings import Settings
from mesh.usage import RunMeters, UsageMeter, estimate_tokens

MAX_OUTPUT_CHARS = 2000
MAX_RESULTS_CHARS = 24_000
_FENCE = re.compile(r"^```(?:json)?\s*\n?(.*?)\n?```$", re.DOTALL)


def make_chat_model(settings: Settings) -> BaseChatModel:
    """ChatOpenAI for the configured server; a ConfigError if none is configured."""
    if not settings.llm_configured:
        raise ConfigError(
            "no language model is configured: set OPENAI_API_KEY (OpenAI) or OPENAI_BASE_URL"
            " (a local OpenAI-compatible server such as Ollama), or use MESH_PLANNER=offline"
        )
    from langchain_openai import ChatOpenAI

    # A local server needs no key, but the OpenAI client refuses to start without one.
    key = settings.openai_api_key or "unused-by-local-server"
    return ChatOpenAI(
        model=settings.llm_model,
        api_key=key,  # type: ignore[arg-type]
        base_url=settings.openai_base_url,
        temperature=settings.llm_temperature,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_max_retries,
    )


def describe_model(model: BaseChatModel) -> str:
    name = getattr(model, "model_name", None) or type(model).__name__
    base = getattr(model, "openai_api_base", None)
    return f"model {name!r} at {base}" if base else f"model {name!r}"


def call_model(
    runnable: Runnable[Any, Any],
    messages: Sequence[BaseMessage],
    *,
    meter: UsageMeter,
    purpose: str,
    model: BaseChatModel,
    shape: Callable[[BaseChatModel], Runnable[Any, Any]] | None = None,
) -> Any:
    """Invoke `runnable` on `messages` within the run's budget; count what it used.

    With a token budget the reply is capped at what is left of it: `runnable` is rebuilt
    as ``shape(capped model)`` (default: the capped model itself). Returns what the
    runnable returns (an AIMessage, or the ``include_raw`` dict of a structured-output
    runnable, whose ``raw`` message carries the usage figures).
    """
    prompt = estimate_tokens([str(m.content) for m in messages])
    allowance = meter.output_allowance(purpose, prompt)
    if allowance is not None:
        capped = capped_model(model, allowance)
        if capped is not model:
            runnable = shape(capped) if shape else capped
    try:
        out = runnable.invoke(list(messages))
    except (LCModelError, openai.OpenAIError) as exc:
        meter.record(None, purpose)
        raise ModelError(_explain(exc, model)) from exc
    meter.record(out.get("raw") if isinstance(out, dict) else out, purpose)
    return out


def capped_model(model: BaseChatModel, max_tokens: int) -> BaseChatModel:
    """`model` limited to replies of `max_tokens` (or its own lower limit), if it has one.

    Models without a ``max_tokens`` field (LangChain's fakes) are returned unchanged.
    """
    if "max_tokens" not in type(model).model_fields:
        return model
    own = getattr(model, "max_tokens", None)
    limit = min(own, max_tokens) if isinstance(own, int) else max_tokens
    return model.model_copy(update={"max_tokens": limit})


def _explain(exc: BaseException, model: BaseChatModel) -> str:
    who = describe_model(model)
    count = 1 + int(getattr(model, "max_retries", 0) or 0)
    tries = f"{count} {'try' if count == 1 else 'tries'}"
    timeout = getattr(model, "request_timeout", None)
    if isinstance(exc, openai.APITimeoutError):
        return (
            f"the {who} did not answer within {timeout} s in {tries}: raise"
            " MESH_LLM_TIMEOUT, use a faster model, or check the server"
        )
    if isinstance(exc, openai.RateLimitError):
        return (
            f"the {who} kept refusing with 429 Too Many Requests ({tries}): wait, lower"
            " the load, or raise MESH_LLM_MAX_RETRIES"
        )
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return f"the {who} refused the key ({_status(exc)}): check OPENAI_API_KEY"
    if isinstance(exc, openai.NotFoundError):
        return (
            f"the {who} answered 404 Not Found: check MESH_LLM_MODEL and that OPENAI_BASE_URL"
            " ends where the server's /chat/completions lives (often .../v1)"
        )
    if isinstance(exc, openai.APIConnectionError):
        return f"could not connect to the {who}: is the server running at OPENAI_BASE_URL?"
    if isinstance(exc, openai.BadRequestError):
        return (
            f"the {who} rejected the request ({_status(exc)}: {_brief(exc)}); if it does not"
            " support JSON-schema output, set MESH_LLM_METHOD=function_calling"
        )
    if isinstance(exc, openai.APIStatusError):
        return f"the {who} failed with {_status(exc)} in {tries}: {_brief(exc)}"
    return f"the {who} failed: {_brief(exc)}"


def _status(exc: BaseException) -> str:
    code = getattr(exc, "status_code", None)
    return f"HTTP {code}" if code else type(exc).__name__


def _brief(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return str(text)[:300]


def raw_text(message: Any) -> str:
    """What the model wrote: its text, or the arguments of its tool calls."""
    if not isinstance(message, AIMessage):
        return ""
    calls = [json.dumps(c.get("args"), ensure_ascii=False) for c in message.tool_calls]
    calls += [str(c.get("args") or "") for c in message.invalid_tool_calls]
    text = message.content if isinstance(message.content, str) else message.text
    return "\n".join([*calls, text] if text else calls)


def read_json(message: Any, tool_name: str) -> dict[str, Any]:
    """The JSON object of a structured reply, strictly parsed; ValueError says why not.

    A tool call named `tool_name` wins; otherwise the text content must be one JSON
    object, optionally inside a ```json fence.
    """
    if not isinstance(message, AIMessage):
        raise ValueError("the model returned no message")
    for call in message.tool_calls:
        if call.get("name") == tool_name:
            return dict(call.get("args") or {})
    for bad in message.invalid_tool_calls:
        why = str(bad.get("error") or "unparseable").rpartition("JSONDecodeError ")[2]
        raise ValueError(
            f"the arguments of your {bad.get('name') or 'tool'} call are not valid JSON ({why})"
        )
    if message.tool_calls:
        names = [c.get("name") for c in message.tool_calls]
        raise ValueError(f"you called {names}; call {tool_name!r} with the plan instead")
    text = message.content if isinstance(message.content, str) else message.text
    text = text.strip()
    if not text:
        refusal = message.additional_kwargs.get("refusal")
        if refusal:
            raise ValueError(f"you refused: {refusal}")
        raise ValueError("your reply was empty: reply with the JSON object")
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"your reply is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    if not isinstance(value, dict):
        raise ValueError(f"your reply is JSON {type(value).__name__}, not the object asked for")
    return value


def results_digest(plan: Plan, results: dict[str, TaskResult]) -> list[dict[str, Any]]:
    """The results as the model sees them: per task, who did it and what came out."""
    rows: list[dict[str, Any]] = []
    budget = MAX_RESULTS_CHARS
    for task in plan.tasks:
        result = results.get(task.id)
        row: dict[str, Any] = {"task": task.id, "description": task.description}
        if result is None:
            row["status"] = "not run"
        else:
            row |= {"status": result.status, "agent": result.agent}
            if result.status == "succeeded":
                output = result.output[: min(MAX_OUTPUT_CHARS, max(budget, 0))]
                budget -= len(output)
                row["output"] = output + ("…" if len(output) < len(result.output) else "")
            else:
                row["error"] = (result.error or "")[:500]
        rows.append(row)
    return rows


def provenance(plan: Plan, results: dict[str, TaskResult]) -> str:
    parts = []
    for task in plan.tasks:
        result = results.get(task.id)
        if result is None:
            parts.append(f"{task.id} not run")
        elif result.status == "succeeded":
            parts.append(f"{task.id} by {result.agent}")
        else:
            parts.append(f"{task.id} {result.status}")
    return "Sources: " + "; ".join(parts)


SYNTH_SYSTEM = (
    "You write the final answer to a user's request from the results that agents"
    " produced. Use only those results, never your own knowledge or arithmetic. Say"
    " which agent produced each fact (for example 'the calculator found ...'). If a task"
    " failed or was skipped, say so plainly with its reason. Be brief and direct."
)


class LLMSynthesizer:
    """The final answer written by the model from the task results, with provenance."""

    def __init__(
        self,
        model: BaseChatModel,
        fallback: TemplateSynthesizer | None = None,
        meters: RunMeters | None = None,
    ) -> None:
        self.model = model
        self.fallback = fallback or TemplateSynthesizer()
        self.meters = meters or RunMeters()

    def synthesize(
        self,
        request: str,
        plan: Plan,
        results: dict[str, TaskResult],
        *,
        meter: UsageMeter | None = None,
    ) -> str:
        meter = meter or self.meters.current()
        digest = json.dumps(results_digest(plan, results), ensure_ascii=False, indent=1)
        messages = [
            SystemMessage(SYNTH_SYSTEM),
            HumanMessage(f"Request: {request or '(a given plan)'}\n\nResults (JSON):\n{digest}"),
        ]
        try:
            reply = call_model(
                self.model, messages, meter=meter, purpose="synthesize", model=self.model
            )
            text = (reply.text if isinstance(reply, AIMessage) else str(reply)).strip()
            if not text:
                raise ModelError(f"the {describe_model(self.model)} returned an empty answer")
        except (BudgetExceeded, ModelError) as exc:
            template = self.fallback.synthesize(request, plan, results)
            return f"(The model did not write this answer: {exc}.)\n\n{template}"
        return f"{text}\n\n{provenance(plan, results)}"

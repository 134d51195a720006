"""Serve one agent over HTTP the A2A way: `mesh agents serve NAME --port P`.

GET ``/.well-known/agent.json`` (and ``agent-card.json``) is the agent's A2A card;
POST ``/a2a`` takes JSON-RPC 2.0 ``message/send`` (blocking) and ``tasks/get``. The
handler runs in a worker thread; whatever it raises becomes a ``failed`` task whose
message says why (``rejected`` when a retry cannot help, see `mesh.retry`), so
the caller's retry and reassignment logic sees a clean failure. A
repeated idempotency key returns the finished task instead of running it again.
Binding beyond loopback requires a bearer token.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import sys
import uuid
from collections import OrderedDict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mesh.a2a import (
    CARD_PATH,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    REQUEST_KEY,
    RESULT_KEY,
    RPC_PATH,
    data_of,
    text_of,
    to_a2a_card,
)
from mesh.errors import AgentNotFound, ConfigError, InputError
from mesh.graphs.agent import Handler, as_subgraph, invoke_agent
from mesh.graphs.worker import describe_failure
from mesh.models import AgentCard, TaskRequest, TaskResult
from mesh.retry import retryable
from mesh.settings import Settings, load_settings

MAX_BODY_BYTES = 10_000_000
TASK_NOT_FOUND = -32001


def _rpc_error(rid: Any, code: int, message: str) -> JSONResponse:
    return JSONResponse({"jsonrpc": "2.0", "id": rid, "error": {"code": code, "message": message}})


class TaskLog:
    """Finished A2A tasks by id and by idempotency key, the newest `capacity` of them."""

    def __init__(self, capacity: int = 1000) -> None:
        self.capacity = capacity
        self._by_id: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._by_key: dict[str, str] = {}

    def add(self, task: dict[str, Any], key: str | None) -> None:
        self._by_id[task["id"]] = task
        if key and task["status"]["state"] == "completed":
            self._by_key[key] = task["id"]
        while len(self._by_id) > self.capacity:
            old, _ = self._by_id.popitem(last=False)
            self._by_key = {k: v for k, v in self._by_key.items() if v != old}

    def get(self, task_id: str) -> dict[str, Any] | None:
        return self._by_id.get(task_id)

    def done(self, key: str | None) -> dict[str, Any] | None:
        task_id = self._by_key.get(key or "")
        return self._by_id.get(task_id) if task_id else None


def a2a_task(result: TaskResult, context_id: str | None, rejected: bool = False) -> dict[str, Any]:
    """The A2A task for a finished `TaskResult`: completed with artifacts, or failed (or
    rejected: the agent refused the task as given, and asking it again will not help)."""
    task: dict[str, Any] = {"kind": "task", "id": uuid.uuid4().hex, "contextId": context_id}
    payload = {RESULT_KEY: result.model_dump(mode="json")}
    if result.status == "succeeded":
        task["status"] = {"state": "completed", "timestamp": datetime.now(UTC).isoformat()}
        task["artifacts"] = [
            {
                "artifactId": uuid.uuid4().hex,
                "name": "result",
                "parts": [
                    {"kind": "text", "text": result.output},
                    {"kind": "data", "data": payload},
                ],
            }
        ]
    else:
        text = result.error or f"the task {result.status}"
        task["status"] = {
            "state": "rejected" if rejected else "failed",
            "timestamp": datetime.now(UTC).isoformat(),
            "message": {
                "kind": "message",
                "role": "agent",
                "messageId": uuid.uuid4().hex,
                "parts": [{"kind": "text", "text": text}, {"kind": "data", "data": payload}],
            },
        }
    return task


def parse_send(params: Any) -> tuple[TaskRequest, str | None, str | None]:
    """(request, context id, idempotency key) from message/send params; InputError if bad."""
    message = params.get("message") if isinstance(params, dict) else None
    if not isinstance(message, dict) or not isinstance(message.get("parts"), list):
        raise InputError("params.message with a list of parts is required")
    parts = message["parts"]
    data = data_of(parts)
    context = message.get("contextId")
    key = (params.get("metadata") or {}).get("idempotencyKey")
    if REQUEST_KEY in data:
        try:
            return TaskRequest.model_validate(data[REQUEST_KEY]), context, key
        except ValueError as exc:
            raise InputError(f"{REQUEST_KEY} is not a valid TaskRequest: {exc}") from None
    text = text_of(parts)
    if not text:
        raise InputError("the message has no text part: say what the agent should do")
    inputs = {k: v for k, v in data.items() if isinstance(k, str)}
    request = TaskRequest(
        task_id=str(message.get("messageId") or uuid.uuid4().hex),
        description=text,
        inputs=inputs,
        run_id=str(context or ""),
    )
    return request, context, key


def agent_app(card: AgentCard, handler: Handler, *, token: str | None = None) -> Starlette:
    """The ASGI app serving `card` and running `handler` for each task it is sent."""
    graph = as_subgraph(card.name, handler)
    log = TaskLog()

    def authorised(request: Request) -> bool:
        if not token:
            return True
        given = request.headers.get("authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())

    async def card_doc(request: Request) -> Response:
        rpc_url = str(request.base_url).rstrip("/") + RPC_PATH
        return JSONResponse(to_a2a_card(card, rpc_url, secured=bool(token)))

    async def rpc(request: Request) -> Response:
        if not authorised(request):
            return JSONResponse({"error": "missing or wrong bearer token"}, status_code=401)
        declared = request.headers.get("content-length", "0")
        if not declared.isdigit() or int(declared) > MAX_BODY_BYTES:
            return JSONResponse({"error": f"body over {MAX_BODY_BYTES} bytes"}, status_code=413)
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            return JSONResponse({"error": f"body over {MAX_BODY_BYTES} bytes"}, status_code=413)
        try:
            body = json.loads(raw)
        except ValueError as exc:
            return _rpc_error(None, PARSE_ERROR, f"parse error: {exc}")
        if not isinstance(body, dict) or body.get("jsonrpc") != "2.0" or "method" not in body:
            return _rpc_error(None, INVALID_REQUEST, "expected one JSON-RPC 2.0 request object")
        rid, method, params = body.get("id"), body["method"], body.get("params")
        if method == "tasks/get":
            task_id = params.get("id") if isinstance(params, dict) else None
            task = log.get(str(task_id))
            if task is None:
                return _rpc_error(rid, TASK_NOT_FOUND, f"task {task_id!r} not found")
            return JSONResponse({"jsonrpc": "2.0", "id": rid, "result": task})
        if method != "message/send":
            return _rpc_error(rid, METHOD_NOT_FOUND, f"method {method!r} is not supported")
        try:
            task_request, context, key = parse_send(params)
        except InputError as exc:
            return _rpc_error(rid, INVALID_PARAMS, str(exc))
        done = log.done(key)
        if done is None:
            result, rejected = await run_in_threadpool(_run, card.name, graph, task_request)
            done = a2a_task(result, context, rejected)
            log.add(done, key)
        return JSONResponse({"jsonrpc": "2.0", "id": rid, "result": done})

    return Starlette(
        routes=[
            Route(CARD_PATH, card_doc, methods=["GET"]),
            Route("/.well-known/agent-card.json", card_doc, methods=["GET"]),
            Route(RPC_PATH, rpc, methods=["POST"]),
        ]
    )


def _run(name: str, graph: Any, request: Any) -> tuple[TaskResult, bool]:
    """The agent's result, and whether it was refused in a way a retry cannot change
    (`mesh.retry.retryable`): such a task is answered ``rejected``, not ``failed``,
    so the calling mesh offers it to its next candidate at once."""
    try:
        return invoke_agent(name, graph, request), False
    except Exception as exc:
        error, rejected = describe_failure(name, exc), not retryable(exc)
    failed = TaskResult(
        task_id=request.task_id, status="failed", agent=name, attempts=request.attempt, error=error
    )
    return failed, rejected


def load_builtin(name: str, settings: Settings | None = None) -> tuple[AgentCard, Handler]:
    """A built-in agent's card and handler, set up under the settings' mesh home."""
    from mesh.agents import builtin_agents
    from mesh.vectorstore.client import make_client
    from mesh.vectorstore.embeddings import MiniLMEmbedding

    settings = settings or load_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    client = make_client(settings.home, settings.chroma_url)
    agents = builtin_agents(client, MiniLMEmbedding())
    for card, handler in agents:
        if card.name == name:
            return card, handler
    known = ", ".join(c.name for c, _ in agents)
    raise AgentNotFound(f"no built-in agent named {name!r} (built-in: {known})")


def check_exposure(host: str, token: str | None) -> None:
    """Refuse to serve beyond loopback without a token: anyone could run the agent."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback and not token:
        raise ConfigError(
            f"serving on {host} without a token lets anyone who can reach it run the agent:"
            " give a token (--token-file) or bind to 127.0.0.1"
        )


def serve_agent(
    card: AgentCard,
    handler: Handler,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    token: str | None = None,
) -> None:
    """Serve one agent until interrupted (blocking)."""
    import uvicorn

    check_exposure(host, token)
    app = agent_app(card, handler, token=token)
    print(
        f"serving agent {card.name!r} on http://{host}:{port} (card at {CARD_PATH})",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")


def serve_builtin(
    name: str,
    *,
    home: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    token_file: str | None = None,
) -> None:
    """`mesh agents serve NAME`: serve a built-in agent; the token is read from a file."""
    settings = load_settings()
    if home:
        settings = settings.model_copy(update={"home": Path(home)})
    token = None
    if token_file:
        try:
            token = Path(token_file).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"cannot read the token file {token_file}: {exc.strerror}") from None
        if not token:
            raise ConfigError(f"the token file {token_file} is empty")
    check_exposure(host, token)
    card, handler = load_builtin(name, settings)
    serve_agent(card, handler, host=host, port=port, token=token)

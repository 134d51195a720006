"""A2A on the wire: agent cards in A2A form, and the client that runs a task on an agent
served over HTTP by another process.

The server publishes an A2A agent card at ``/.well-known/agent.json`` and takes tasks as
JSON-RPC 2.0 ``message/send`` at ``/a2a`` (blocking: the reply is the finished A2A task
with its artifacts, or a ``failed`` status whose message says why). A mesh-to-mesh call
carries the whole `TaskRequest` as a data part and gets the `TaskResult` back the same
way; any other A2A agent reads the text part and answers with text. `RemoteAgent` is the
client side: a plain handler for `Mesh.add_agent`, so the worker's gate, retries and
reassignment apply to remote agents exactly as to local ones, and a remote agent that
dies mid-task surfaces as a clear `AgentError` that the worker retries and then reassigns.
A refusal that the same request would meet again — the task ``rejected``, more input or
auth required, an HTTP 4xx other than 408/429, a JSON-RPC error saying the call itself
is wrong — is a `TaskRejected`: the task goes to the next candidate at once.
The server side is :mod:`mesh.agent_server`; the mesh's own bookkeeping of remote agents
(tokens, reattaching after a restart) is :mod:`mesh.remote`.
"""

from __future__ import annotations

import re
import threading
import uuid
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from mesh.errors import AgentError, AgentUnavailable, InputError, TaskRejected
from mesh.models import AgentCard, Skill, TaskRequest, TaskResult
from mesh.retry import retryable_status

CARD_PATH = "/.well-known/agent.json"
RPC_PATH = "/a2a"
PROTOCOL_VERSION = "0.3.0"
MESH_EXTENSION = "urn:agentic-mesh:card:v1"
REQUEST_KEY = "mesh.taskRequest"
RESULT_KEY = "mesh.taskResult"
_FAILED_STATES = {"failed", "canceled", "cancelled"}
_NEEDS_INPUT = {"input-required", "auth-required"}
PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602
# JSON-RPC errors about the call itself and A2A's "not supported" ones (-32003..-32005):
# the same call gets the same answer.
_REFUSING_CODES = {PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS}
_REFUSING_CODES |= {-32003, -32004, -32005}


def to_a2a_card(card: AgentCard, rpc_url: str, *, secured: bool = False) -> dict[str, Any]:
    """The A2A agent card of a mesh card; mesh-only fields ride in a declared extension."""
    doc: dict[str, Any] = {
        "protocolVersion": PROTOCOL_VERSION,
        "name": card.name,
        "description": card.description,
        "url": rpc_url,
        "preferredTransport": "JSONRPC",
        "version": card.version,
        "provider": {"organization": card.owner, "url": rpc_url.rsplit(RPC_PATH, 1)[0]},
        "capabilities": {
            "streaming": False,
            "pushNotifications": False,
            "extensions": [
                {
                    "uri": MESH_EXTENSION,
                    "description": "Agentic Mesh card fields and TaskRequest/TaskResult parts",
                    "required": False,
                    "params": {"tags": card.tags, "state": card.state.value}
                    | {"metadata": card.metadata},
                }
            ],
        },
        "defaultInputModes": ["text/plain", "application/json"],
        "defaultOutputModes": ["text/plain", "application/json"],
        "skills": [
            {
                "id": s.name,
                "name": s.name,
                "description": s.description,
                "tags": s.tags,
                "examples": s.examples,
                "inputModes": s.input_modes,
                "outputModes": s.output_modes,
            }
            for s in card.skills
        ],
    }
    if secured:
        doc["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        doc["security"] = [{"bearer": []}]
    return doc


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9_.-]+", "-", name.strip().lower()).strip("-._")[:64]


def from_a2a_card(doc: Any, card_url: str, *, name: str | None = None) -> AgentCard:
    """A mesh card for an A2A agent card; `endpoint` is its JSON-RPC URL."""
    if not isinstance(doc, dict):
        raise InputError(f"{card_url} is not an agent card: expected a JSON object")
    missing = [k for k in ("name", "description", "url") if not doc.get(k)]
    if missing:
        raise InputError(f"the agent card at {card_url} lacks {', '.join(missing)}")
    endpoint = urljoin(card_url, str(doc["url"]))
    if urlsplit(endpoint).scheme not in ("http", "https"):
        raise InputError(f"the agent card at {card_url} gives a non-HTTP url {endpoint!r}")
    extension = next(
        (
            e.get("params") or {}
            for e in (doc.get("capabilities") or {}).get("extensions") or []
            if isinstance(e, dict) and e.get("uri") == MESH_EXTENSION
        ),
        {},
    )
    skills = [
        Skill(
            name=str(s.get("id") or s.get("name")),
            description=str(s.get("description") or s.get("name") or s.get("id")),
            tags=list(s.get("tags") or []),
            examples=list(s.get("examples") or []),
        )
        for s in doc.get("skills") or []
        if isinstance(s, dict) and (s.get("id") or s.get("name"))
    ]
    raw = {
        "name": name or _slug(str(doc["name"])),
        "description": str(doc["description"]),
        "version": str(doc.get("version") or "0.1.0"),
        "owner": str((doc.get("provider") or {}).get("organization") or "remote"),
        "skills": skills,
        "endpoint": endpoint,
        "tags": list(extension.get("tags") or []),
        "metadata": dict(extension.get("metadata") or {}) | {"a2a_card": card_url},
    }
    from mesh.registry import parse_card

    try:
        return parse_card(raw)
    except InputError as exc:
        raise InputError(f"the agent card at {card_url} does not fit the mesh: {exc}") from None


def card_url(url: str) -> str:
    """The card address for a base URL or a card URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{url!r} is not an http(s) URL of an agent")
    if parts.path.endswith(".json"):
        return url
    return url.rstrip("/") + CARD_PATH


def fetch_card(
    url: str,
    *,
    token: str | None = None,
    name: str | None = None,
    timeout: float = 10.0,
    transport: httpx.BaseTransport | None = None,
) -> AgentCard:
    """Read the A2A card of the agent at `url` (its base URL or its card's URL)."""
    where = card_url(url)
    try:
        with httpx.Client(timeout=timeout, transport=transport) as client:
            response = client.get(where, headers=_auth(token))
    except httpx.HTTPError as exc:
        raise AgentError(f"cannot read the agent card at {where}: {_network(exc)}") from None
    if response.status_code != 200:
        raise AgentError(f"the agent card at {where} answered {response.status_code}")
    try:
        doc = response.json()
    except ValueError:
        raise InputError(f"{where} did not return JSON: is it an A2A agent?") from None
    return from_a2a_card(doc, where, name=name)


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _network(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return "connection refused or host unreachable: is the agent running?"
    if isinstance(exc, httpx.TimeoutException):
        return "no answer in time"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        return "the connection closed mid-task: the agent stopped or crashed"
    return f"{type(exc).__name__}: {exc}"


class RemoteAgent:
    """A handler that runs each task on an A2A agent over HTTP (JSON-RPC message/send)."""

    def __init__(
        self,
        url: str,
        *,
        name: str = "remote",
        token: str | None = None,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url, self.name, self.token = url, name, token
        self.timeout, self._transport = timeout, transport
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def _session(self) -> httpx.Client:
        """One pooled client per agent: building a client costs more than a loopback call."""
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=self.timeout, transport=self._transport)
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def __repr__(self) -> str:
        return f"RemoteAgent({self.name!r}, {self.url!r})"

    def __call__(self, req: TaskRequest) -> TaskResult:
        body = rpc_request("message/send", _send_params(req))
        reply = self._post(body)
        return self._result(req, reply)

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._session().post(self.url, json=body, headers=_auth(self.token))
        except httpx.HTTPError as exc:
            raise AgentUnavailable(f"remote agent at {self.url}: {_network(exc)}") from None
        if response.status_code in (401, 403):
            raise TaskRejected(
                f"remote agent {self.name!r} refused the request ({response.status_code}):"
                " give the right token"
            )
        if response.status_code != 200:
            refusal: type[AgentError] = (
                AgentUnavailable if retryable_status(response.status_code) else TaskRejected
            )
            raise refusal(
                f"remote agent {self.name!r} answered HTTP {response.status_code}:"
                f" {response.text[:200]}"
            )
        try:
            reply = response.json()
        except ValueError:
            raise AgentError(f"remote agent {self.name!r} did not answer JSON-RPC") from None
        if not isinstance(reply, dict):
            raise AgentError(f"remote agent {self.name!r} answered {type(reply).__name__}")
        error = reply.get("error")
        if error:
            code = error.get("code") if isinstance(error, dict) else None
            message = error.get("message") if isinstance(error, dict) else error
            kind = TaskRejected if code in _REFUSING_CODES else AgentError
            raise kind(f"remote agent {self.name!r} error {code}: {message}")
        result = reply.get("result")
        if not isinstance(result, dict):
            raise AgentError(f"remote agent {self.name!r} answered without a result")
        return result

    def _result(self, req: TaskRequest, result: dict[str, Any]) -> TaskResult:
        if result.get("kind") == "message":
            return _from_parts(req, self.name, result.get("parts") or [])
        state = str((result.get("status") or {}).get("state") or "")
        message = (result.get("status") or {}).get("message") or {}
        why = text_of(message.get("parts") or []) or state
        if state == "rejected":  # A2A: the agent will not do this task; asking again won't help
            raise TaskRejected(f"remote agent {self.name!r} rejected the task: {why}")
        if state in _FAILED_STATES:
            raise AgentError(f"remote agent {self.name!r} {state} the task: {why}")
        if state in _NEEDS_INPUT:  # the same complete task would get the same question
            raise TaskRejected(
                f"remote agent {self.name!r} needs more input ({state}: {why}); the mesh sends"
                " complete tasks, so give it everything in the task description"
            )
        if state != "completed":
            raise AgentError(f"remote agent {self.name!r} left the task {state or 'unknown'}")
        parts = [p for a in result.get("artifacts") or [] for p in a.get("parts") or []]
        return _from_parts(req, self.name, parts)


def rpc_request(method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": uuid.uuid4().hex, "method": method, "params": params}


def _send_params(req: TaskRequest) -> dict[str, Any]:
    request = req.model_dump(mode="json", exclude={"inbox"})
    return {
        "message": {
            "kind": "message",
            "role": "user",
            "messageId": uuid.uuid4().hex,
            "contextId": req.run_id or None,
            "parts": [
                {"kind": "text", "text": req.description},
                {"kind": "data", "data": {REQUEST_KEY: request}},
            ],
        },
        "configuration": {"blocking": True, "acceptedOutputModes": ["text/plain"]},
        "metadata": {"idempotencyKey": req.idempotency_key},
    }


def text_of(parts: list[Any]) -> str:
    """The text parts of an A2A message or artifact, joined."""
    return "\n".join(
        str(p.get("text")) for p in parts if isinstance(p, dict) and p.get("kind") == "text"
    ).strip()


def data_of(parts: list[Any]) -> dict[str, Any]:
    """The data parts of an A2A message or artifact, merged."""
    data: dict[str, Any] = {}
    for part in parts:
        if isinstance(part, dict) and part.get("kind") == "data":
            value = part.get("data")
            if isinstance(value, dict):
                data |= value
    return data


def _from_parts(req: TaskRequest, name: str, parts: list[Any]) -> TaskResult:
    data = data_of(parts)
    if RESULT_KEY in data:
        try:
            return TaskResult.model_validate(data[RESULT_KEY])
        except ValueError as exc:
            raise AgentError(f"remote agent {name!r} sent a malformed result: {exc}") from None
    return TaskResult(
        task_id=req.task_id, status="succeeded", output=text_of(parts), data=data, agent=name
    )

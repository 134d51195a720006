"""A small OpenAI-protocol server on 127.0.0.1 for tests, with scripted replies.

It speaks ``POST /v1/chat/completions`` as the real `openai` client expects it: plain
text, forced tool calls (``tools`` + ``tool_choice``) and ``response_format`` JSON
schema, with ``usage`` figures. Tests queue what the next calls get — a plan, raw text
(malformed JSON), a JSON of the wrong shape, an HTTP error (429, 500) with
``retry-after-ms``, or a delay past the client's timeout. With nothing queued it
answers on its own: a one-task plan of the request, or an answer built from the
results the synthesiser sent, so an end-to-end run needs no script at all.

It keeps every request body and headers, and every usage figure it reported.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Step:
    """One scripted reply. `plan` (a dict) or `text` (sent as is) or `status` (an error)."""

    plan: dict[str, Any] | None = None
    text: str | None = None
    status: int = 200
    delay: float = 0.0
    usage: bool = True
    retry_after_ms: int = 5


@dataclass
class Seen:
    body: dict[str, Any]
    headers: dict[str, str]
    reply: dict[str, Any] = field(default_factory=dict)
    status: int = 200

    @property
    def kind(self) -> str:
        if self.body.get("tools"):
            return "tool"
        if self.body.get("response_format"):
            return "json_schema"
        return "text"

    @property
    def first_user(self) -> str:
        """The prompt of the conversation; later user turns are repair requests."""
        users = [m for m in self.body["messages"] if m["role"] == "user"]
        return _text(users[0]["content"]) if users else ""


def plan_of(request: str) -> dict[str, Any]:
    return {
        "tasks": [{"id": "t1", "description": request, "capability": request, "depends_on": []}],
        "rationale": "one question, one task",
    }


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))


def _tokens(text: str) -> int:
    return max(1, len(re.findall(r"\w+|[^\w\s]", text)))


class FakeOpenAI:
    def __init__(self) -> None:
        self.script: deque[Step] = deque()
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    def push(self, *steps: Step) -> None:
        with self._lock:
            self.script.extend(steps)

    @property
    def answered(self) -> list[Seen]:
        return [s for s in self.seen if s.status == 200]

    def reported_tokens(self) -> int:
        return sum(s.reply.get("usage", {}).get("total_tokens", 0) for s in self.answered)

    def _next(self) -> Step | None:
        with self._lock:
            return self.script.popleft() if self.script else None

    def respond(self, seen: Seen) -> tuple[int, dict[str, str], dict[str, Any], float]:
        step = self._next() or Step()
        if step.status != 200:
            headers = {"retry-after-ms": str(step.retry_after_ms)}
            error = {"message": f"scripted {step.status}", "type": "server_error", "code": None}
            return step.status, headers, {"error": error}, step.delay
        if step.text is not None:
            out = step.text
        elif step.plan is not None:
            out = json.dumps(step.plan)
        elif seen.kind == "text":
            out = _auto_answer(seen.first_user)
        else:
            match = re.search(r"^Request: (.*)$", seen.first_user, re.MULTILINE)
            out = json.dumps(plan_of(match.group(1) if match else seen.first_user))
        message: dict[str, Any] = {"role": "assistant", "content": out}
        finish = "stop"
        if seen.kind == "tool":
            name = seen.body["tools"][0]["function"]["name"]
            call = {"id": f"call_{len(self.seen)}", "type": "function"}
            call["function"] = {"name": name, "arguments": out}
            message = {"role": "assistant", "content": None, "tool_calls": [call]}
            finish = "tool_calls"
        reply: dict[str, Any] = {
            "id": f"chatcmpl-{len(self.seen)}",
            "object": "chat.completion",
            "created": 0,
            "model": seen.body.get("model", "fake"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        }
        if step.usage:
            prompt = _tokens(json.dumps(seen.body["messages"]))
            done = _tokens(out)
            reply["usage"] = {
                "prompt_tokens": prompt,
                "completion_tokens": done,
                "total_tokens": prompt + done,
            }
        return 200, {}, reply, step.delay

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, {}, {"error": {"message": f"no route {self.path}"}})
                    return
                seen = Seen(body=body, headers={k.lower(): v for k, v in self.headers.items()})
                with fake._lock:
                    fake.seen.append(seen)
                status, headers, payload, delay = fake.respond(seen)
                seen.status, seen.reply = status, payload
                if delay and fake._stop.wait(delay):
                    return
                self._send(status, headers, payload)

            def _send(self, status: int, headers: dict[str, str], payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        return Handler


def _auto_answer(prompt: str) -> str:
    _, _, tail = prompt.partition("Results (JSON):")
    try:
        rows = json.loads(tail)
    except json.JSONDecodeError:
        return "I have no results to answer from."
    said = [
        f"{row['output']} (from the {row['agent']} agent)"
        for row in rows
        if row.get("status") == "succeeded"
    ]
    return " ".join(said) or "No task succeeded."

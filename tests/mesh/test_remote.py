"""Remote agents over HTTP: a second process serves an agent, the mesh runs tasks on it."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mesh import AgentCard, Mesh, Plan, Skill, Task
from mesh.a2a import RemoteAgent, fetch_card, from_a2a_card, to_a2a_card
from mesh.agent_server import agent_app, check_exposure
from mesh.agents.calculator import CALCULATOR_CARD
from mesh.errors import (
    AgentError,
    AgentUnavailable,
    ConfigError,
    InputError,
    PolicyDenied,
    TaskRejected,
)
from mesh.models import Event, TaskRequest
from mesh.remote import TOKENS_DIR, add_remote_agent, attach_remote_agents
from mesh.settings import Settings

MESH_BIN = str(Path(sys.executable).with_name("mesh"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_card(url: str, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"server exited: {proc.stderr.read().decode() if proc.stderr else ''}"
            )
        try:
            if httpx.get(f"{url}/.well-known/agent.json", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError(f"no agent card at {url} after {seconds}s")


@contextmanager
def process(args: list[str], url: str) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_card(url, proc)
        yield proc
    finally:
        proc.kill()
        proc.wait(10)
        if proc.stderr:
            proc.stderr.close()


@contextmanager
def running(app: Any) -> Iterator[str]:
    """Serve an ASGI app for real on a loopback port, in a thread."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def quick(home: Path) -> Iterator[Mesh]:
    settings = Settings(retry_backoff=0.01, task_timeout=30)
    with Mesh.local(home, settings=settings, builtin_agents=False) as m:
        yield m


def test_two_processes_a_served_builtin_answers_through_the_mesh(
    tmp_path: Path, quick: Mesh
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [MESH_BIN, "--home", str(tmp_path / "server-home"), "agents", "serve", "calculator"]
    with process([*args, "--port", str(port)], url):
        card = add_remote_agent(quick, url)
        assert card.endpoint == f"{url}/a2a"
        assert [s.name for s in card.skills] == [s.name for s in CALCULATOR_CARD.skills]
        assert quick.registry.search("multiply two numbers", k=1)[0].card.name == "calculator"
        result = quick.run("What is 17 * 23?")
    (only,) = result.results.values()
    assert only.status == "succeeded"
    assert only.agent == "calculator"
    assert only.output == "17 * 23 = 391"
    assert only.data == {"expression": "17 * 23", "value": 391}


SLOW_AGENT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from mesh.agent_server import serve_agent
    from mesh.models import AgentCard, Skill

    marker = Path(sys.argv[2])

    def handler(req):
        marker.write_text(req.task_id)
        time.sleep(120)
        return "too late"

    card = AgentCard(
        name="slow-adder",
        description="Adds up a list of numbers",
        skills=[Skill(name="add-up", description="add up a list of numbers",
                      examples=["add up the numbers 1 2 3"])],
    )
    serve_agent(card, handler, port=int(sys.argv[1]))
    """
)


def backup_card() -> AgentCard:
    return AgentCard(
        name="backup-adder",
        description="Adds numbers together, a local fallback",
        skills=[Skill(name="sum", description="sum numbers", examples=["sum 1 2 3"])],
    )


async def run_and_kill(
    mesh: Mesh, proc: subprocess.Popen[bytes], marker: Path, request: str
) -> list[Event]:
    events = []
    async for event in mesh.astream(request):
        events.append(event)
        if (
            event.kind == "task_started"
            and event.data["agent"] == "slow-adder"
            and proc.poll() is None
        ):
            for _ in range(600):
                if marker.exists():
                    break
                await asyncio.sleep(0.05)
            proc.kill()
    return events


def run_a_remote_agent_that_dies(tmp_path: Path, mesh: Mesh) -> tuple[str, Path, list[Event]]:
    """Serve the slow adder in a real process, ask the mesh to add, kill it mid-task:
    its URL, the file it wrote the task id to when it started, the run's events."""
    port, marker = free_port(), tmp_path / "started"
    script = tmp_path / "slow_agent.py"
    script.write_text(SLOW_AGENT)
    url = f"http://127.0.0.1:{port}"
    with process([sys.executable, str(script), str(port), str(marker)], url) as proc:
        add_remote_agent(mesh, url)
        events = asyncio.run(run_and_kill(mesh, proc, marker, "add up the numbers 1 2 3"))
    return url, marker, events


def test_a_remote_agent_that_dies_mid_task_fails_the_task_with_the_reason(
    tmp_path: Path, quick: Mesh
) -> None:
    url, marker, events = run_a_remote_agent_that_dies(tmp_path, quick)
    (result,) = events[-1].data["result"]["results"].values()
    assert result["status"] == "failed"
    assert f"remote agent at {url}/a2a: the connection closed mid-task" in result["error"]
    assert "is the agent running?" in result["error"]  # the retry found nothing listening
    assert [e.kind for e in events].count("retry") == 1
    assert marker.read_text() == result["task_id"]


def test_a_remote_agent_that_dies_is_replaced_by_the_next_candidate(
    tmp_path: Path, quick: Mesh
) -> None:
    quick.add_agent(backup_card(), lambda req: "6 (by the backup)")
    _, _, events = run_a_remote_agent_that_dies(tmp_path, quick)
    started = [e.data["agent"] for e in events if e.kind == "task_started"]
    assert started[0] == "slow-adder" and started[-1] == "backup-adder"
    assert any(e.kind == "reassigned" and e.data["agent"] == "backup-adder" for e in events)
    (result,) = events[-1].data["result"]["results"].values()
    assert result["status"] == "succeeded" and result["agent"] == "backup-adder"


def test_card_round_trips_through_a2a_with_mesh_fields() -> None:
    card = CALCULATOR_CARD.model_copy(update={"owner": "team-math", "metadata": {"tier": 1}})
    doc = to_a2a_card(card, "http://h:1/a2a")
    assert doc["url"] == "http://h:1/a2a" and doc["skills"][0]["id"] == "arithmetic"
    back = from_a2a_card(doc, "http://h:1/.well-known/agent.json")
    assert back.model_dump(exclude={"endpoint", "metadata"}) == card.model_dump(
        exclude={"endpoint", "metadata"}
    )
    assert back.endpoint == "http://h:1/a2a"
    assert back.metadata == {"tier": 1, "a2a_card": "http://h:1/.well-known/agent.json"}


def test_foreign_a2a_names_are_made_into_mesh_names() -> None:
    doc = {"name": "Currency Agent!", "description": "FX rates", "url": "/rpc", "skills": []}
    card = from_a2a_card(doc, "http://fx.example:9/.well-known/agent.json")
    assert card.name == "currency-agent" and card.endpoint == "http://fx.example:9/rpc"
    with pytest.raises(InputError, match="lacks url"):
        from_a2a_card({"name": "x", "description": "y"}, "http://h/card.json")
    with pytest.raises(InputError, match="non-HTTP url"):
        from_a2a_card({"name": "x", "description": "y", "url": "file:///x"}, "http://h/c.json")


def request(text: str = "What is 6 * 7?", **kw: Any) -> TaskRequest:
    return TaskRequest(task_id="t1", description=text, run_id="run-1", **kw)


def test_token_protects_a_served_agent() -> None:
    from mesh.agents.calculator import handler

    with running(agent_app(CALCULATOR_CARD, handler, token="s3cret")) as url:
        card = fetch_card(url)  # the card is public and says a token is needed
        with pytest.raises(TaskRejected, match=r"refused the request \(401\)"):
            RemoteAgent(card.endpoint, name="calculator")(request())
        with pytest.raises(TaskRejected, match="401"):
            RemoteAgent(card.endpoint, name="calculator", token="wrong")(request())
        result = RemoteAgent(card.endpoint, name="calculator", token="s3cret")(request())
        assert result.output == "6 * 7 = 42"
        doc = httpx.get(f"{url}/.well-known/agent.json").json()
        assert doc["security"] == [{"bearer": []}]


@pytest.mark.parametrize(
    ("error", "state", "refused"),
    [
        (ValueError("the numbers are out of range"), "rejected", True),
        (TaskRejected("no numbers in that"), "rejected", True),
        (ConnectionError("the upstream feed is down"), "failed", False),
    ],
)
def test_agent_errors_come_back_as_failed_or_rejected_tasks_with_the_reason(
    error: Exception, state: str, refused: bool
) -> None:
    def broken(req: TaskRequest) -> str:
        raise error

    card = AgentCard(name="broken", description="always fails")
    expected = f"{state} the task: agent 'broken'"
    with running(agent_app(card, broken)) as url, pytest.raises(AgentError, match=expected) as e:
        RemoteAgent(f"{url}/a2a", name="broken")(request())
    assert str(error) in str(e.value)
    assert isinstance(e.value, TaskRejected) is refused, "a refusal is not asked again"


def test_a_repeated_idempotency_key_does_not_run_the_task_again() -> None:
    calls: list[str] = []

    def counting(req: TaskRequest) -> str:
        calls.append(req.task_id)
        return f"run {len(calls)}"

    card = AgentCard(name="counting", description="counts its calls")
    with running(agent_app(card, counting)) as url:
        agent = RemoteAgent(f"{url}/a2a", name="counting")
        first = agent(request())
        again = agent(request(attempt=2))
        other = agent(TaskRequest(task_id="t2", description="x", run_id="run-1"))
    assert first.output == again.output == "run 1"
    assert other.output == "run 2"
    assert calls == ["t1", "t2"]


def test_json_rpc_errors_for_bad_calls() -> None:
    from mesh.agents.calculator import handler

    with running(agent_app(CALCULATOR_CARD, handler)) as url:
        rpc = f"{url}/a2a"
        assert httpx.post(rpc, content=b"{nope").json()["error"]["code"] == -32700
        assert httpx.post(rpc, json=[{"jsonrpc": "2.0"}]).json()["error"]["code"] == -32600
        unknown = {"jsonrpc": "2.0", "id": 1, "method": "tasks/cancel", "params": {}}
        assert httpx.post(rpc, json=unknown).json()["error"]["code"] == -32601
        empty = {"jsonrpc": "2.0", "id": 2, "method": "message/send", "params": {"message": {}}}
        assert httpx.post(rpc, json=empty).json()["error"]["code"] == -32602
        missing = {"jsonrpc": "2.0", "id": 3, "method": "tasks/get", "params": {"id": "zz"}}
        assert httpx.post(rpc, json=missing).json()["error"]["code"] == -32001
        huge = httpx.post(rpc, content=b"x" * 10_000_001)
        assert huge.status_code == 413


def test_plain_a2a_clients_send_text_and_get_text() -> None:
    from mesh.agents.calculator import handler

    with running(agent_app(CALCULATOR_CARD, handler)) as url:
        body = {
            "jsonrpc": "2.0",
            "id": "x",
            "method": "message/send",
            "params": {
                "message": {
                    "kind": "message",
                    "role": "user",
                    "messageId": "m1",
                    "parts": [{"kind": "text", "text": "what is 2 to the power of 10"}],
                }
            },
        }
        task = httpx.post(f"{url}/a2a", json=body).json()["result"]
        assert task["status"]["state"] == "completed"
        assert task["artifacts"][0]["parts"][0] == {"kind": "text", "text": "2 ** 10 = 1024"}
        got = {"jsonrpc": "2.0", "id": 1, "method": "tasks/get", "params": {"id": task["id"]}}
        assert httpx.post(f"{url}/a2a", json=got).json()["result"]["id"] == task["id"]


def foreign_agent(reply: dict[str, Any]) -> Starlette:
    """Another vendor's A2A agent: answers every call with `reply`."""

    async def rpc(request: Request) -> JSONResponse:
        body = await request.json()
        return JSONResponse({"jsonrpc": "2.0", "id": body["id"], "result": reply})

    return Starlette(routes=[Route("/", rpc, methods=["POST"])])


def test_replies_of_other_a2a_agents_are_understood() -> None:
    message = {"kind": "message", "parts": [{"kind": "text", "text": "Bonjour"}]}
    with running(foreign_agent(message)) as url:
        result = RemoteAgent(url + "/", name="fr")(request("say hello in French"))
    assert result.output == "Bonjour" and result.status == "succeeded"
    needs = {
        "kind": "task",
        "id": "1",
        "status": {
            "state": "input-required",
            "message": {"parts": [{"kind": "text", "text": "which city?"}]},
        },
    }
    with running(foreign_agent(needs)) as url, pytest.raises(TaskRejected, match=r"which city\?"):
        RemoteAgent(url + "/", name="weather")(request("weather"))


def test_nothing_listening_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(AgentError, match="is the agent running"):
        fetch_card(url)
    with pytest.raises(AgentError, match="is the agent running"):
        RemoteAgent(url + "/a2a", name="gone")(request())


def test_serving_beyond_loopback_needs_a_token() -> None:
    with pytest.raises(ConfigError, match="without a token"):
        check_exposure("0.0.0.0", None)
    check_exposure("0.0.0.0", "t")
    check_exposure("127.0.0.1", None)
    check_exposure("::1", None)


def test_cli_refuses_unknown_agents_and_public_binds(tmp_path: Path) -> None:
    env = {**os.environ, "MESH_HOME": str(tmp_path / "h")}
    out = subprocess.run(
        [MESH_BIN, "agents", "serve", "calculator", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 2 and "without a token" in out.stderr
    out = subprocess.run(
        [MESH_BIN, "agents", "serve", "nope", "--port", str(free_port())],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 2 and "no built-in agent named 'nope'" in out.stderr


# -- restarts: registered remote agents run again, with their stored tokens -------------


def open_mesh(home: Path) -> Mesh:
    settings = Settings(retry_backoff=0.01, task_timeout=30)
    return Mesh.local(home, settings=settings, builtin_agents=False)


def counted(app: Any, hits: list[tuple[str, str]]) -> Any:
    """`app`, noting the path and Authorization header of every HTTP request it gets."""

    async def wrapper(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            auth = dict(scope["headers"]).get(b"authorization", b"").decode()
            hits.append((scope["path"], auth))
        await app(scope, receive, send)

    return wrapper


def calculator_app(token: str | None = None) -> Any:
    from mesh.agents.calculator import handler

    return agent_app(CALCULATOR_CARD, handler, token=token)


def files_holding(root: Path, secret: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


def test_a_remote_agent_with_a_token_answers_after_a_restart(
    home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token, hits = f"tok-{secrets.token_hex(16)}", []
    with running(counted(calculator_app(token), hits)) as url:
        with open_mesh(home) as first:
            add_remote_agent(first, url, token=token)
        served_before_start = len(hits)
        with open_mesh(home) as second:
            assert second.agents == ["calculator"]
            assert len(hits) == served_before_start  # starting called nobody
            assert attach_remote_agents(second) == []  # already attached: nothing twice
            result = second.run("What is 17 * 23?")
            dump = second.registry.dump()
    (only,) = result.results.values()
    assert (only.status, only.agent, only.output) == ("succeeded", "calculator", "17 * 23 = 391")
    assert hits[-1] == ("/a2a", f"Bearer {token}")
    stored = home / TOKENS_DIR / "calculator.json"
    assert stat_mode(stored) == 0o600 and stat_mode(stored.parent) == 0o700
    assert json.loads(stored.read_text()) == {"endpoint": f"{url}/a2a", "token": token}
    assert files_holding(home, token) == [stored]  # not in Chroma, the audit or checkpoints
    assert token not in dump
    assert not [r for r in caplog.records if token in r.getMessage()]


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


PIRATE_CARD = AgentCard(
    name="pirate",
    description="Translates English text into pirate speech",
    skills=[
        Skill(
            name="piratify",
            description="rewrite a sentence in pirate speech, arr",
            examples=["say 'hello friend' like a pirate", "translate this into pirate talk"],
        )
    ],
)


def test_a_card_registered_with_the_cli_runs_in_the_next_mesh_run(tmp_path: Path) -> None:
    """Every `mesh` command is a new process: a URL card registered by one runs in the next."""
    home = tmp_path / "cli-home"
    card_file = tmp_path / "pirate.json"

    def pirate(req: TaskRequest) -> str:
        return "Arr, " + req.description.lower()

    with running(agent_app(PIRATE_CARD, pirate)) as url:
        card_file.write_text(
            PIRATE_CARD.model_copy(update={"endpoint": f"{url}/a2a"}).model_dump_json()
        )
        cli = [MESH_BIN, "--home", str(home)]
        done = subprocess.run(
            [*cli, "agents", "register", str(card_file)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        ran = subprocess.run(
            [*cli, "run", "say 'hello my friend' like a pirate", "--json"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    (task,) = json.loads(ran.stdout)["results"].values()
    assert task["agent"] == "pirate"
    assert task["output"] == "Arr, say 'hello my friend' like a pirate"


def test_a_running_mesh_runs_a_url_card_another_process_registers(
    home: Path, tmp_path: Path
) -> None:
    card_file = tmp_path / "pirate.json"
    with running(agent_app(PIRATE_CARD, lambda req: "Arr!")) as url, open_mesh(home) as m:
        m.registry.watcher.every = 0.0
        card_file.write_text(
            PIRATE_CARD.model_copy(update={"endpoint": f"{url}/a2a"}).model_dump_json()
        )
        done = subprocess.run(
            [MESH_BIN, "--home", str(home), "agents", "register", str(card_file)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert "pirate" in m.registry and "pirate" in m.agents
        plan = Plan(tasks=[Task(id="t", description="greet me", agent="pirate")])
        assert m.execute(plan).results["t"].output == "Arr!"


def test_a_url_card_registered_in_this_process_runs_at_once(home: Path) -> None:
    with running(calculator_app()) as url, open_mesh(home) as m:
        card = CALCULATOR_CARD.model_copy(update={"endpoint": f"{url}/a2a"})
        with m.acting_as("mallory"), pytest.raises(PolicyDenied):
            m.registry.register(card)
        assert m.agents == []  # a refused write attaches nothing
        m.registry.register(card)
        assert m.agents == ["calculator"]
        plan = Plan(tasks=[Task(id="t", description="What is 6 * 7?", agent="calculator")])
        assert m.execute(plan).results["t"].output == "6 * 7 = 42"


def test_a_remote_agent_down_at_restart_fails_its_task_with_the_reason(home: Path) -> None:
    with running(calculator_app()) as url, open_mesh(home) as first:
        add_remote_agent(first, url)
    with open_mesh(home) as second:  # nothing listens at url any more
        assert second.agents == ["calculator"]
        plan = Plan(tasks=[Task(id="t", description="What is 6 * 7?", agent="calculator")])
        result = second.execute(plan).results["t"]
        second.add_agent(backup_card(), lambda req: "6 (by the backup)")
        events = asyncio.run(collect(second, "add up the numbers 1 2 3"))
    assert result.status == "failed"
    assert f"remote agent at {url}/a2a: connection refused" in (result.error or "")
    (done,) = events[-1].data["result"]["results"].values()
    assert done["status"] == "succeeded" and done["agent"] == "backup-adder"


async def collect(mesh: Mesh, request: str) -> list[Any]:
    return [event async for event in mesh.astream(request)]


def test_deregistering_a_remote_agent_deletes_its_token(home: Path) -> None:
    with running(calculator_app("s3cret")) as url:
        with open_mesh(home) as m:
            add_remote_agent(m, url, token="s3cret")
            stored = home / TOKENS_DIR / "calculator.json"
            assert stored.exists()
            with m.acting_as("mallory"), pytest.raises(PolicyDenied):
                m.registry.deregister("calculator")
            assert stored.exists()  # a refused removal keeps it
            assert m.agents == ["calculator"]
            m.registry.deregister("calculator")
            assert not stored.exists()
            assert m.agents == [], "a removed remote agent stops running here"
        with open_mesh(home) as again:
            assert again.agents == [] and "calculator" not in again.registry


def test_tokens_are_checked_stored_only_on_success_and_never_sent_elsewhere(home: Path) -> None:
    stored = home / TOKENS_DIR / "calculator.json"
    with running(calculator_app("s3cret")) as url, open_mesh(home) as m:
        with pytest.raises(InputError, match="without spaces or line breaks"):
            add_remote_agent(m, url, token="s3cret\nX-Evil: 1")
        with m.acting_as("mallory"), pytest.raises(PolicyDenied):
            add_remote_agent(m, url, token="s3cret")
        assert not stored.exists() and m.agents == []
        add_remote_agent(m, url, token="s3cret")
        with m.acting_as("mallory"), pytest.raises(PolicyDenied):
            add_remote_agent(m, url, token="other")
        assert json.loads(stored.read_text())["token"] == "s3cret"  # the refused one rolled back
        add_remote_agent(m, url)  # reconnecting without a token keeps the stored one
        plan = Plan(tasks=[Task(id="t", description="What is 6 * 7?", agent="calculator")])
        assert m.execute(plan).results["t"].status == "succeeded"

        stored.chmod(0o644)
        loose = m.execute(plan).results["t"]
        assert loose.status == "failed" and "readable by others" in (loose.error or "")
        stored.chmod(0o600)

        hits: list[tuple[str, str]] = []
        with running(counted(calculator_app(), hits)) as elsewhere:
            moved = m.registry.get("calculator").model_copy(
                update={"endpoint": f"{elsewhere}/a2a", "version": "9.0.0"}
            )
            m.registry.update(moved)
            diverted = m.execute(plan).results["t"]
        assert diverted.status == "failed"
        assert "the mesh does not send it elsewhere" in (diverted.error or "")
        assert hits == []


def test_the_marketplace_connects_with_a_token_that_survives_a_restart(home: Path) -> None:
    from mesh.ui.marketplace import connect, register

    with running(calculator_app("s3cret")) as url:
        with open_mesh(home) as m:
            assert "Not connected" in connect(m, url, None, "bad token")
            assert connect(m, url, None, "s3cret").startswith("✅")
            card = m.registry.get("calculator").model_copy(update={"description": "Arithmetic"})
            assert register(m, card.model_dump_json(), None).startswith("✅")  # token kept
        with open_mesh(home) as again:
            plan = Plan(tasks=[Task(id="t", description="What is 6 * 7?", agent="calculator")])
            assert again.execute(plan).results["t"].output == "6 * 7 = 42"


# -- refusals are not retried: the next candidate gets the task at once ---------------


def a2a_task_in(state: str, why: str) -> dict[str, Any]:
    message = {"kind": "message", "parts": [{"kind": "text", "text": why}]}
    return {"kind": "task", "id": "1", "status": {"state": state, "message": message}}


@pytest.mark.parametrize(("state", "calls", "retries"), [("rejected", 1, 0), ("failed", 2, 1)])
def test_a_remote_agent_that_rejects_a_task_is_not_asked_again(
    home: Path, state: str, calls: int, retries: int
) -> None:
    hits: list[tuple[str, str]] = []
    reply = a2a_task_in(state, "I only add whole numbers")
    card = AgentCard(
        name="picky-adder",
        description="Adds up a list of numbers",
        skills=[
            Skill(
                name="add-up",
                description="add up a list of numbers",
                examples=["add up the numbers 1 2 3"],
            )
        ],
    )
    with running(counted(foreign_agent(reply), hits)) as url, open_mesh(home) as m:
        m.add_agent(card, RemoteAgent(url + "/", name="picky-adder"))
        m.add_agent(backup_card(), lambda req: "6 (by the backup)")
        events = asyncio.run(collect(m, "add up the numbers 1 2 3"))
    started = [e.data["agent"] for e in events if e.kind == "task_started"]
    assert started == ["picky-adder"] * calls + ["backup-adder"]
    assert len(hits) == calls
    assert [e.kind for e in events].count("retry") == retries
    (done,) = events[-1].data["result"]["results"].values()
    assert done["status"] == "succeeded" and done["agent"] == "backup-adder"
    (moved,) = [e for e in events if e.kind == "reassigned"]
    why = f"remote agent 'picky-adder' {state} the task: I only add whole numbers"
    assert moved.data["after"] == f"agent 'picky-adder': {why}"


def status_app(status: int, body: dict[str, Any] | None = None) -> Starlette:
    """An endpoint that answers every call with `status` (and a JSON-RPC `body`)."""

    async def rpc(request: Request) -> JSONResponse:
        return JSONResponse(body or {"detail": f"status {status}"}, status_code=status)

    return Starlette(routes=[Route("/", rpc, methods=["POST"])])


def test_remote_refusals_and_transient_failures_are_told_apart() -> None:
    wrong_method = {"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "no such"}}
    crashed = {"jsonrpc": "2.0", "id": 1, "error": {"code": -32603, "message": "internal"}}
    cases = [
        (status_app(404), "answered HTTP 404", True),
        (status_app(413), "answered HTTP 413", True),
        (status_app(503), "answered HTTP 503", False),
        (status_app(429), "answered HTTP 429", False),
        (status_app(200, wrong_method), "error -32601: no such", True),
        (status_app(200, crashed), "error -32603: internal", False),
    ]
    for app, message, rejected in cases:
        with running(app) as url, pytest.raises(AgentError, match=message) as caught:
            RemoteAgent(url + "/", name="far")(request())
        assert isinstance(caught.value, TaskRejected) is rejected, message
        if "HTTP" in message:  # a server that is down or busy, not the agent's answer
            assert isinstance(caught.value, AgentUnavailable) is not rejected, message

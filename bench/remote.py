"""What running an agent over HTTP costs, against running it in process.

Baselines run in the same process: the calculator's handler called directly, and a
one-task plan pinned to the local calculator. The remote runs use `RemoteAgent`
(JSON-RPC message/send) against the same handler served by uvicorn on loopback, and
`RegisteredRemote`, the handler a restarted mesh gives a registered remote card.

    .venv/bin/python bench/remote.py [--calls 300] [--runs 30]
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import threading
import time
from collections.abc import Callable

import uvicorn

from mesh import Mesh, Plan, Task
from mesh.a2a import RemoteAgent
from mesh.agent_server import agent_app
from mesh.agents.calculator import CALCULATOR_CARD, handler
from mesh.models import TaskRequest
from mesh.remote import RegisteredRemote


def timed(fn: Callable[[int], object], n: int) -> float:
    """Seconds per call, after one warm-up call."""
    fn(-1)
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - start) / n


def paired(
    first: Callable[[int], object], second: Callable[[int], object], n: int
) -> tuple[float, float]:
    """Seconds per call of each, alternating calls so drift and warm-up hit both alike."""
    first(-1), second(-1)
    spent = [0.0, 0.0]
    for i in range(n):
        for side, fn in enumerate((first, second) if i % 2 else (second, first)):
            start = time.perf_counter()
            fn(i)
            spent[side if i % 2 else 1 - side] += time.perf_counter() - start
    return spent[0] / n, spent[1] / n


def serve() -> tuple[str, uvicorn.Server]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    app = agent_app(CALCULATOR_CARD, handler)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return f"http://127.0.0.1:{port}", server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    url, server = serve()
    remote = RemoteAgent(f"{url}/a2a", name="calculator")

    def request(i: int) -> TaskRequest:
        return TaskRequest(task_id=f"t{i}", description=f"What is {i} * 7?", run_id="bench")

    direct = timed(lambda i: handler(request(i)), args.calls)
    over_http = timed(lambda i: remote(request(i)), args.calls)
    print(f"handler call      direct {direct * 1e6:8.1f} µs   remote {over_http * 1e3:6.2f} ms")
    print(f"                  remote / direct = {over_http / direct:,.0f}×")

    with tempfile.TemporaryDirectory() as home, Mesh.local(home) as mesh:
        mesh.add_agent(
            CALCULATOR_CARD.model_copy(update={"name": "rcalc", "endpoint": f"{url}/a2a"}),
            RemoteAgent(f"{url}/a2a", name="rcalc"),
        )

        def plan(agent: str) -> Callable[[int], object]:
            return lambda i: mesh.execute(
                Plan(tasks=[Task(id="t1", description=f"What is {i} * 7?", agent=agent)])
            )

        registered = RegisteredRemote(mesh, "rcalc")  # what a restarted mesh runs
        plain, by_card = paired(
            lambda i: remote(request(i)), lambda i: registered(request(i)), args.calls
        )
        print(
            f"registered remote {by_card * 1e3:6.2f} ms (card + stored token read per call)"
            f"   / RemoteAgent {plain * 1e3:.2f} ms, interleaved = {by_card / plain:.2f}×"
        )
        local_run = timed(plan("calculator"), args.runs)
        remote_run = timed(plan("rcalc"), args.runs)
    print(f"mesh.execute run  local {local_run * 1e3:7.2f} ms   remote {remote_run * 1e3:6.2f} ms")
    print(f"                  remote / local = {remote_run / local_run:.2f}×")
    server.should_exit = True


if __name__ == "__main__":
    main()

"""Orchestrator overhead: the same DAGs on asyncio, a bare LangGraph Send loop, and the mesh.

Everything runs in one process, one after the other, so the ratios hold on a noisy
machine. Figures are µs per task. Tasks are no-ops pinned to one agent, so what is
measured is the cost of orchestration itself (plan checks, gates, audit, checkpoints),
not discovery.

    .venv/bin/python bench/orchestrator.py            # all shapes, 100 / 1,000 / 10,000 tasks
    .venv/bin/python bench/orchestrator.py --quick    # 100 and 1,000 only
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import operator
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

from mesh import AgentCard, Mesh, Plan, Task
from mesh.graphs.checkpoint import make_checkpointer
from mesh.settings import Settings

Dag = dict[str, list[str]]  # task id -> dependencies, in topological order


def chain(n: int) -> Dag:
    return {f"t{i}": [f"t{i - 1}"] if i else [] for i in range(n)}


def fan_out(n: int) -> Dag:
    return {"root": [], **{f"t{i}": ["root"] for i in range(n - 1)}}


def layered(n: int, width: int = 32) -> Dag:
    dag: Dag = {}
    for i in range(n):
        layer, pos = divmod(i, width)
        if layer == 0:
            dag[f"t{i}"] = []
        else:
            prev = (layer - 1) * width
            dag[f"t{i}"] = [f"t{prev + pos}", f"t{prev + (pos + 1) % width}"]
    return dag


def waves(dag: Dag) -> list[list[str]]:
    depth: dict[str, int] = {}
    for tid, deps in dag.items():
        depth[tid] = 1 + max((depth[d] for d in deps), default=-1)
    out: list[list[str]] = [[] for _ in range(max(depth.values()) + 1)]
    for tid, d in depth.items():
        out[d].append(tid)
    return out


def run_asyncio(dag: Dag, sleep: float = 0.0) -> None:
    async def task() -> None:
        if sleep:
            await asyncio.sleep(sleep)

    async def main() -> None:
        for wave in waves(dag):
            await asyncio.gather(*(task() for _ in wave))

    asyncio.run(main())


class S(TypedDict, total=False):
    done: Annotated[list[str], operator.add]
    ready: list[str]
    seen: int


def bare_graph(dag: Dag, work: Callable[[], Any] | None = None, saver: Any = None) -> Any:
    """The plainest correct Send loop: dispatch ready tasks, collect, repeat."""
    dependants: dict[str, list[str]] = {t: [] for t in dag}
    for tid, deps in dag.items():
        for d in deps:
            dependants[d].append(tid)

    def start(state: S) -> dict[str, Any]:
        return {"ready": [t for t, deps in dag.items() if not deps], "seen": 0}

    def node(job: dict[str, str]) -> dict[str, Any]:
        if work:
            work()
        return {"done": [job["id"]]}

    def collect(state: S) -> dict[str, Any]:
        done = state["done"]
        finished = set(done)
        ready = []
        for tid in done[state["seen"] :]:
            ready += [c for c in dependants[tid] if all(d in finished for d in dag[c])]
        return {"ready": list(dict.fromkeys(ready)), "seen": len(done)}

    def route(state: S) -> list[Send] | str:
        return [Send("node", {"id": t}) for t in state["ready"]] or END

    g = StateGraph(S)
    g.add_node("start", start)
    g.add_node("node", node)
    g.add_node("collect", collect)
    g.add_edge(START, "start")
    g.add_conditional_edges("start", route, ["node", END])
    g.add_edge("node", "collect")
    g.add_conditional_edges("collect", route, ["node", END])
    return g.compile(checkpointer=saver)


def run_bare(dag: Dag, work: Callable[[], Any] | None = None, saver: Any = None) -> None:
    config: Any = {"recursion_limit": 4 * len(dag) + 64, "max_concurrency": 64}
    if saver is None:
        bare_graph(dag, work).invoke({}, config)
    else:
        config["configurable"] = {"thread_id": uuid.uuid4().hex}
        bare_graph(dag, work, saver).invoke({}, config, durability="sync")


def mesh_plan(dag: Dag) -> Plan:
    return Plan(
        tasks=[Task(id=t, description="noop", agent="noop", depends_on=d) for t, d in dag.items()]
    )


def make_mesh(home: Path, durable: bool, work: Callable[[], Any] | None = None) -> Mesh:
    settings = Settings(max_tasks=20_000, task_timeout=60)
    m = Mesh.local(home, settings=settings, builtin_agents=False, durable=durable)

    def noop(req: Any) -> str:
        if work:
            work()
        return ""

    m.add_agent(AgentCard(name="noop", description="does nothing"), noop)
    return m


def timed(fn: Callable[[], Any]) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def overhead(sizes: list[int], root: Path) -> None:
    shapes: dict[str, Callable[[int], Dag]] = {
        "chain": chain,
        "fan-out": fan_out,
        "layered": layered,
    }
    meshes = {
        "mesh": make_mesh(root / "mem", durable=False),
        "mesh+sqlite": make_mesh(root / "sql", durable=True),
    }
    # warm-up: imports, first-call costs, caches
    for m in meshes.values():
        m.execute(mesh_plan(layered(64)))
    saver = make_checkpointer(root / "bare", None)
    run_bare(layered(64))
    run_bare(layered(64), saver=saver)
    print(
        "| shape | tasks | asyncio | bare Send | mesh | bare Send+SQLite | mesh+SQLite"
        " | mesh / bare | mesh+SQLite / bare+SQLite |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for n in sizes:
        for name, shape in shapes.items():
            if name == "chain" and n > 1_000 and "--chain-10k" not in sys.argv:
                continue
            dag = shape(n)
            plan = mesh_plan(dag)
            t_async = timed(lambda d=dag: run_asyncio(d))  # type: ignore[misc]
            t_bare = timed(lambda d=dag: run_bare(d))  # type: ignore[misc]
            t_mesh = timed(lambda p=plan: meshes["mesh"].execute(p))  # type: ignore[misc]
            t_bare_sql = timed(lambda d=dag: run_bare(d, saver=saver))  # type: ignore[misc]
            t_sql = timed(lambda p=plan: meshes["mesh+sqlite"].execute(p))  # type: ignore[misc]
            us = [t / n * 1e6 for t in (t_async, t_bare, t_mesh, t_bare_sql, t_sql)]
            print(
                f"| {name} | {n:,} | {us[0]:.1f} | {us[1]:.0f} | {us[2]:.0f} | {us[3]:.0f}"
                f" | {us[4]:.0f} | {us[2] / us[1]:.2f} | {us[4] / us[3]:.2f} |",
                flush=True,
            )
    for m in meshes.values():
        m.close()


def critical_path(root: Path) -> None:
    """100 tasks of 50 ms in 10 waves: against the 0.5 s critical path."""
    dag = layered(100, width=10)
    sleep = lambda: time.sleep(0.05)  # noqa: E731
    m = make_mesh(root / "cp", durable=True, work=sleep)
    m.execute(mesh_plan(layered(20, width=10)))
    t_async = timed(lambda: run_asyncio(dag, 0.05))
    t_bare = timed(lambda: run_bare(dag, sleep))
    t_mesh = timed(lambda: m.execute(mesh_plan(dag)))
    print("\n| 100 × 50 ms in 10 waves | wall s | × critical path (0.5 s) |")
    print("| --- | --- | --- |")
    for name, t in (("asyncio", t_async), ("bare Send", t_bare), ("mesh+SQLite", t_mesh)):
        print(f"| {name} | {t:.3f} | {t / 0.5:.2f} |")
    m.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--chain-10k", action="store_true")
    parser.add_argument("--skip-overhead", action="store_true")
    args = parser.parse_args()
    sizes = [100, 1_000] if args.quick else [100, 1_000, 10_000]
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_overhead:
            overhead(sizes, Path(tmp))
        critical_path(Path(tmp))


if __name__ == "__main__":
    main()

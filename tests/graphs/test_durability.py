"""Durability: a mesh killed with SIGKILL mid-plan resumes without redoing finished work."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from mesh import AgentCard, Mesh, TaskRequest

WORKER = textwrap.dedent(
    """
    import json, sys, time
    from mesh import AgentCard, Mesh
    from mesh.models import Plan, Task

    home, effects = sys.argv[1], sys.argv[2]

    def effect(req):
        with open(effects, "a") as f:
            f.write(json.dumps({"task": req.task_id, "event": "start"}) + "\\n")
        time.sleep(0.3)
        with open(effects, "a") as f:
            f.write(json.dumps({"task": req.task_id, "event": "end"}) + "\\n")
        return "did " + req.task_id

    m = Mesh.local(home, builtin_agents=False)
    m.add_agent(AgentCard(name="effect", description="has side effects"), effect)
    layers = [[f"l{i}t{j}" for j in range(3)] for i in range(4)]
    tasks = [
        Task(id=tid, description="work", agent="effect",
             depends_on=layers[i - 1] if i else [])
        for i, layer in enumerate(layers) for tid in layer
    ]
    m.execute(Plan(tasks=tasks), thread_id="crash-1")
    print("finished without being killed", flush=True)
    """
)


def _events(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_sigkill_mid_plan_then_resume_runs_each_finished_task_once(tmp_path: Path) -> None:
    home, effects = tmp_path / "home", tmp_path / "effects.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(home), str(effects)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ends = [e for e in _events(effects) if e["event"] == "end"]
        if len(ends) >= 6:  # two layers done, the third under way
            break
        time.sleep(0.02)
    time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read()
    before = _events(effects)
    finished_before = {e["task"] for e in before if e["event"] == "end"}
    assert 6 <= len(finished_before) < 12, "the kill must land mid-plan"

    def effect(req: TaskRequest) -> str:
        with effects.open("a") as f:
            f.write(json.dumps({"task": req.task_id, "event": "start"}) + "\n")
            f.write(json.dumps({"task": req.task_id, "event": "end"}) + "\n")
        return "did " + req.task_id

    with Mesh.local(home, builtin_agents=False) as m:
        m.add_agent(AgentCard(name="effect", description="has side effects"), effect)
        result = m.resume("crash-1")

    after = _events(effects)[len(before) :]
    rerun = {e["task"] for e in after if e["event"] == "start"}
    assert not rerun & finished_before, f"finished tasks ran again: {rerun & finished_before}"
    all_ends = [e["task"] for e in _events(effects) if e["event"] == "end"]
    assert sorted(all_ends) == sorted(set(all_ends)), "a task finished twice"
    assert len(set(all_ends)) == 12
    assert len(result.results) == 12
    assert all(r.status == "succeeded" for r in result.results.values())

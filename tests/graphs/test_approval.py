"""Human approval after planning: approve, edit or reject, resumed with Command."""

from __future__ import annotations

import asyncio

import pytest

from mesh import InputError, Mesh
from mesh.models import Plan, Task

REQUEST = "Compute 2**10 and count the words in 'the quick brown fox jumps'"


def test_propose_then_approve_runs_the_plan(mesh: Mesh) -> None:
    proposal = mesh.propose(REQUEST)
    assert [t.description for t in proposal.plan.tasks] == [
        "Compute 2**10",
        "count the words in 'the quick brown fox jumps'",
    ]
    assert mesh.audit.records(run_id=proposal.thread_id) == [], "nothing before approval"
    result = mesh.resume_with(proposal.thread_id, "approve")
    assert "1024" in result.answer and result.ok


def test_an_edited_plan_replaces_the_proposal(mesh: Mesh) -> None:
    proposal = mesh.propose(REQUEST)
    edited = Plan(tasks=[Task(id="only", description="What is 6 * 7?")])
    result = mesh.resume_with(proposal.thread_id, edited)
    assert list(result.results) == ["only"]
    assert "42" in result.answer


def test_a_rejected_plan_runs_nothing_and_accounts_for_every_task(mesh: Mesh) -> None:
    proposal = mesh.propose(REQUEST)
    result = mesh.resume_with(proposal.thread_id, {"action": "reject", "reason": "too costly"})
    assert result.answer == "The plan was rejected: too costly"
    assert {r.status for r in result.results.values()} == {"skipped"}
    assert mesh.audit.records(run_id=proposal.thread_id) == []


def test_bad_decisions_are_refused(mesh: Mesh) -> None:
    proposal = mesh.propose(REQUEST)
    with pytest.raises(InputError, match="unknown plan decision"):
        mesh.resume_with(proposal.thread_id, "maybe")  # type: ignore[arg-type]
    done = mesh.run("What is 1 + 1?")
    with pytest.raises(InputError, match="not waiting for a plan decision"):
        mesh.resume_with(done.thread_id, "approve")


def test_astream_pauses_for_approval_then_streams_the_rest(mesh: Mesh) -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        first = [e async for e in mesh.astream("What is 17 * 23?", approve=True)]
        thread = first[-1].thread_id
        rest = [e async for e in mesh.astream_resume(thread, "approve")]
        assert "391" in rest[-1].data["result"]["answer"]
        return [e.kind for e in first], [e.kind for e in rest]

    first, rest = asyncio.run(scenario())
    assert first[-1] == "approval" and "task_started" not in first
    assert "task_finished" in rest and rest[-1] == "done"

"""The Gradio app served for real and driven over HTTP by gradio_client (no login)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from gradio_client import Client

from mesh import Mesh
from mesh.ui.app import build_app, launch_options


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(mesh: Mesh) -> Iterator[str]:
    app = build_app(mesh)
    port = free_port()
    options = launch_options(mesh)
    app.queue().launch(
        server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, **options
    )
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.close()


def chat_text(messages: list[dict[str, Any]]) -> str:
    return "\n".join(str(m.get("content")) for m in messages)


def test_chat_streams_the_plan_before_the_answer(served: str) -> None:
    client = Client(served, verbose=False)
    job = client.submit("What is 17 * 23?", [], False, api_name="/chat")
    updates = list(job)
    final = job.result()
    chat = chat_text(final[1])
    assert "17 * 23 = 391" in chat and "Who did what" in chat
    assert "| t1: What is 17 * 23? | calculator | ✅ succeeded | 1 |" in chat
    assert final[0] == ""  # the input box is cleared
    assert 'data-task="t1" data-state="succeeded"' in final[3]
    planned = [u for u in updates if "plan: 1 task(s)" in chat_text(u[1])]
    assert planned and "391" not in chat_text(planned[0][1]), "the plan shows before the answer"


def test_chat_shows_errors_instead_of_crashing(served: str) -> None:
    client = Client(served, verbose=False)
    final = client.predict("   ", [], False, api_name="/chat")
    assert "**Error:** the request is empty" in chat_text(final[1])


def test_marketplace_search_ranks_by_meaning_and_filters(served: str) -> None:
    client = Client(served, verbose=False)
    html = client.predict(
        "convert miles to kilometres", [], "available", "any", api_name="/search_agents"
    )
    assert html.index('data-agent="units"') < html.index('data-agent="calculator"')
    tagged = client.predict("", ["pandas"], "any", "any", api_name="/search_agents")
    assert tagged.count('class="mk-card') == 1 and 'data-agent="csv-analyst"' in tagged
    nobody = client.predict("", [], "any", "team-nobody", api_name="/search_agents")
    assert "No agent matches" in nobody


def test_registering_a_bad_card_lists_the_bad_fields(served: str, mesh: Mesh) -> None:
    client = Client(served, verbose=False)
    before = len(mesh.registry)
    status, *_ = client.predict(
        '{"name": "Bad Name", "skills": [{"name": "x"}]}',
        "",
        [],
        "any",
        "any",
        api_name="/register_agent",
    )
    assert "Not registered" in status
    assert "name: Value error, agent name 'Bad Name' is not valid" in status
    assert "description: Field required" in status
    assert len(mesh.registry) == before
    status, *_ = client.predict("{not json", "", [], "any", "any", api_name="/register_agent")
    assert "Not registered" in status and "Invalid JSON" in status


def test_registered_card_is_found_and_audited(served: str, mesh: Mesh) -> None:
    client = Client(served, verbose=False)
    card = (
        '{"name": "tide-tables", "description": "High and low tide times for harbours",'
        ' "subscribes": ["harbour.alerts"]}'
    )
    status, html, *_ = client.predict(card, "", [], "any", "any", api_name="/register_agent")
    assert "Registered **tide-tables**" in status and "discovery will skip it" in status
    assert 'data-agent="tide-tables"' in html and "hears: harbour.alerts" in html
    writes = mesh.audit.records(principal="local", action="write")
    assert writes[-1].obj == "registry:tide-tables" and writes[-1].decision == "allow"


def test_engaging_an_agent_directly_goes_through_the_gate(served: str, mesh: Mesh) -> None:
    client = Client(served, verbose=False)
    reply = client.predict("units", "convert 10 km to miles", api_name="/engage_agent")
    assert reply.startswith("✅ **units** answered") and "6.21371192237 mi" in reply
    assert mesh.audit.records(action="dispatch")[-1].obj == "agent:units"


def test_policy_and_audit_endpoints(served: str, mesh: Mesh) -> None:
    mesh.run("What is 2 + 2?")
    client = Client(served, verbose=False)
    verdict = client.predict("mallory", "agent:calculator", "dispatch", api_name="/policy_check")
    assert verdict.startswith("⛔ **deny**")
    allowed = client.predict("local", "agent:calculator", "dispatch", api_name="/policy_check")
    assert allowed.startswith("✅ **allow**")
    assert "chain intact" in client.predict("", api_name="/audit_verify")
    wrong = client.predict("0" * 64, api_name="/audit_verify")
    assert wrong.startswith("❌") and "is not the expected" in wrong
    rows = client.predict("local", "allow", 5, api_name="/audit_records")
    assert rows["data"] and all(r[2] == "local" and r[5] == "allow" for r in rows["data"])


def test_no_file_outside_the_app_is_served(served: str, mesh: Mesh) -> None:
    audit = mesh.settings.home.resolve() / "audit.sqlite"
    assert audit.exists()
    for path in (str(audit), "/etc/passwd", "../../../../etc/passwd"):
        for route in ("gradio_api/file=", "file="):
            response = httpx.get(served + route + path)
            assert response.status_code in (403, 404), (route, path, response.status_code)
            assert b"root:" not in response.content and b"SQLite" not in response.content


def test_an_unexpected_failure_is_shown_not_left_spinning(
    served: str, mesh: Mesh, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")
        yield  # an async generator, like Mesh.astream

    monkeypatch.setattr(mesh, "astream", broken)
    final = Client(served, verbose=False).predict("What is 1 + 1?", [], False, api_name="/chat")
    text = chat_text(final[1])
    assert "**Error:** the mesh failed unexpectedly (RuntimeError: disk on fire)" in text

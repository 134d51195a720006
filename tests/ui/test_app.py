"""The Gradio chat, served for real and driven over HTTP by gradio_client."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from gradio_client import Client

from mesh import Mesh
from mesh.ui.app import build_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(mesh: Mesh) -> Iterator[str]:
    app = build_app(mesh)
    port = free_port()
    app.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.close()


def test_chat_streams_step_names_then_answers_391(served: str) -> None:
    client = Client(served, verbose=False)
    job = client.submit("What is 17 * 23?", api_name="/chat")
    updates = [str(u) for u in job]
    final = str(job.result())
    assert "391" in final
    streamed = "\n".join(updates)
    for step in ("plan", "discover", "dispatch"):
        assert f"**{step}**" in streamed
    first_with_answer = next(i for i, u in enumerate(updates) if "391" in u)
    assert any("**plan**" in u for u in updates[:first_with_answer]), "steps must come first"


def test_chat_shows_errors_instead_of_crashing(served: str) -> None:
    client = Client(served, verbose=False)
    reply = str(client.predict("   ", api_name="/chat"))
    assert "request is empty" in reply

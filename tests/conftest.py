"""Shared fixtures: real meshes on temporary homes (real Chroma, SQLite, Casbin)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mesh import Mesh


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own key, server or mesh home must never leak into a test run."""
    import os

    for name in list(os.environ):
        if name.startswith(("OPENAI_", "MESH_")):
            monkeypatch.delenv(name)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "mesh-home"


@pytest.fixture
def mesh(home: Path) -> Iterator[Mesh]:
    """A full local mesh with the built-in agents, fresh for each test."""
    with Mesh.local(home) as m:
        yield m


@pytest.fixture
def bare_mesh(home: Path) -> Iterator[Mesh]:
    """A local mesh with no agents, for tests that bring their own."""
    with Mesh.local(home, builtin_agents=False) as m:
        yield m

"""The Postgres checkpointer (MESH_CHECKPOINT_URL), against a real server on loopback."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mesh import ConfigError, Mesh
from mesh.settings import Settings

PG_BIN = next(
    (
        Path(p).parent
        for p in (shutil.which("initdb"), "/usr/lib/postgresql/15/bin/initdb")
        if p and Path(p).exists()
    ),
    None,
)
pytestmark = pytest.mark.skipif(PG_BIN is None, reason="PostgreSQL server binaries not installed")


def _as_postgres(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: drop to the postgres user when we are root."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    # not under pytest's tmp dir: its root-only parent is closed to the postgres user
    root = Path(tempfile.mkdtemp(prefix="mesh-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run(
        _as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-U", "mesh", "--auth=trust"]),
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_postgres(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-w",
                "start",
                "-l",
                str(root / "log"),
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://mesh@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def test_runs_and_resumes_a_paused_run_from_postgres(postgres_url: str, home: Path) -> None:
    settings = Settings(checkpoint_url=postgres_url)
    with Mesh.local(home, settings=settings) as m:
        assert not (home / "checkpoints.sqlite").exists()
        assert "391" in m.run("What is 17 * 23?").answer
        proposal = m.propose("What is 6 * 7?")
    with Mesh.local(home, settings=settings) as again:
        assert "42" in again.resume_with(proposal.thread_id, "approve").answer

        async def stream() -> str:
            events = [e async for e in again.astream("What is 2 + 2?")]
            return str(events[-1].data["result"]["answer"])

        assert "4" in asyncio.run(stream())


def test_an_unreachable_database_is_a_clear_error(home: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(checkpoint_url=f"postgresql://mesh@127.0.0.1:{port}/postgres")
    with pytest.raises(ConfigError, match="cannot connect to the checkpoint database"):
        Mesh.local(home, settings=settings, builtin_agents=False)

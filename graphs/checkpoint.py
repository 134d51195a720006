"""Checkpointers: LangGraph's SQLite (default) or Postgres saver, for sync and async runs.

LangGraph's sync savers serve only sync runs, and the async ones are bound to one event
loop, while the mesh is driven by `graph.invoke`, `Mesh.run` and `Mesh.astream` in any
mix. `ThreadedAsync` gives a sync saver async methods that run its (locked) calls in a
worker thread.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver

from mesh.errors import ConfigError

STATE_TYPES = [
    ("mesh.models", "Plan"),
    ("mesh.models", "Task"),
    ("mesh.models", "TaskResult"),
    ("mesh.models", "TaskRequest"),
    ("mesh.models", "Envelope"),
    ("mesh.usage", "Usage"),
]


def serializer() -> JsonPlusSerializer:
    """Checkpoint serde that revives exactly the mesh's state models, nothing else."""
    return JsonPlusSerializer(allowed_msgpack_modules=STATE_TYPES)


class ThreadedAsync(BaseCheckpointSaver[Any]):
    """Async checkpoint methods for a sync saver, each run in a worker thread."""

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await asyncio.to_thread(self.get_tuple, config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        items = await asyncio.to_thread(
            lambda: list(self.list(config, filter=filter, before=before, limit=limit))
        )
        for item in items:
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await asyncio.to_thread(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await asyncio.to_thread(self.put_writes, config, writes, task_id, task_path)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, Any]:
        return await asyncio.to_thread(
            lambda: self.get_delta_channel_history(config=config, channels=channels)
        )

    async def adelete_thread(self, thread_id: str) -> None:
        await asyncio.to_thread(self.delete_thread, thread_id)


class ThreadedSqliteSaver(ThreadedAsync, SqliteSaver):
    """SQLite saver for sync and async runs."""


def make_checkpointer(home: Path, url: str | None) -> BaseCheckpointSaver[Any]:
    """SQLite under the mesh home by default; a `postgres://` URL selects Postgres."""
    if url and url.startswith(("postgres://", "postgresql://")):
        return _postgres(url)
    if url and not url.startswith("sqlite:///"):
        raise ConfigError(
            f"MESH_CHECKPOINT_URL {url!r} is not understood: use postgresql://user@host/db"
            " or sqlite:///path/to/file.sqlite, or unset it for SQLite under MESH_HOME"
        )
    db = Path(url.removeprefix("sqlite:///")) if url else home / "checkpoints.sqlite"
    db.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL survives a process crash
    saver = ThreadedSqliteSaver(conn, serde=serializer())
    saver.setup()
    return saver


def _postgres(url: str) -> BaseCheckpointSaver[Any]:
    try:
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg import Connection
        from psycopg.rows import dict_row
    except ImportError as exc:
        raise ConfigError(
            "MESH_CHECKPOINT_URL is a Postgres URL but the Postgres saver is not installed:"
            " pip install 'agentic-mesh[postgres]'"
        ) from exc

    class ThreadedPostgresSaver(ThreadedAsync, PostgresSaver):
        """Postgres saver for sync and async runs."""

    try:
        conn = Connection.connect(url, autocommit=True, prepare_threshold=0, row_factory=dict_row)
    except Exception as exc:
        raise ConfigError(f"cannot connect to the checkpoint database {url!r}: {exc}") from exc
    saver = ThreadedPostgresSaver(conn, serde=serializer())
    saver.setup()
    return saver

"""What a registry pays to see another process's writes, against re-reading every card.

Two registries share one embedded Chroma store: a writer registers N agents, the clock
moves on, a reader opens, then the writer sends one heartbeat. The reader catches up on
its next read (only the cards written since it last caught up; every card's id only
when the store's record count says something was removed) and, as the baseline, with
`refresh()` (every card); then the writer removes one agent and the reader reads
again. Vectors come from a cheap seeded embedding so the figures are the registry's,
not MiniLM's.

    .venv/bin/python bench/registry_sync.py [--agents 1000 5000 20000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import zlib
from typing import Any

import chromadb
import numpy as np
from chromadb.config import Settings

from mesh.models import AgentCard, Skill
from mesh.registry import Registry


class Seeded:
    """Stands in for an embedding function: the same text always gives the same vector."""

    def __call__(self, input: Any) -> list[Any]:
        return [
            np.random.default_rng(zlib.crc32(t.encode())).standard_normal(384).astype(np.float32)
            for t in input
        ]

    @staticmethod
    def name() -> str:
        return "bench-seeded"

    def is_legacy(self) -> bool:
        return False

    def get_config(self) -> dict[str, Any]:
        return {}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> Seeded:
        return Seeded()


def once(client: Any, n: int) -> tuple[float, float, float, float]:
    """ms: a mark check that finds nothing, a catch-up on a read, a full refresh, a
    catch-up after a removal."""
    now = [1_000_000.0]
    ef = Seeded()
    writer = Registry(client, ef, namespace=f"sync{n}", watch=None, clock=lambda: now[0])
    cards = [
        AgentCard(
            name=f"agent-{i}",
            description=f"does thing {i}",
            skills=[Skill(name="s", description=f"skill {i}")],
        )
        for i in range(n)
    ]
    for start in range(0, n, 1000):
        writer.register_many(cards[start : start + 1000])
    now[0] += 3600
    reader = Registry(client, ef, namespace=f"sync{n}", watch=0.0, clock=lambda: now[0])
    started = time.perf_counter()
    reader.get("agent-1")
    idle = time.perf_counter() - started
    writer.heartbeat("agent-3", state="busy")
    started = time.perf_counter()
    assert reader.get("agent-3").state.value == "busy"
    on_read = time.perf_counter() - started
    writer.heartbeat("agent-4", state="busy")
    started = time.perf_counter()
    reader.refresh()
    full = time.perf_counter() - started
    assert reader.get("agent-4").state.value == "busy"
    writer.deregister("agent-5")
    started = time.perf_counter()
    assert "agent-5" not in reader
    removal = time.perf_counter() - started
    return idle * 1e3, on_read * 1e3, full * 1e3, removal * 1e3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, nargs="+", default=[1000, 5000, 20000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        client = chromadb.PersistentClient(home, settings=Settings(anonymized_telemetry=False))
        print(
            "agents   no change   one heartbeat on a read   refresh() (baseline)   ratio"
            "   one removal on a read"
        )
        for n in args.agents:
            idle, on_read, full, removal = once(client, n)
            print(
                f"{n:>6}   {idle:7.2f} ms   {on_read:10.1f} ms"
                f"               {full:8.1f} ms            {on_read / full:.3f}"
                f"   {removal:10.1f} ms"
            )


if __name__ == "__main__":
    main()

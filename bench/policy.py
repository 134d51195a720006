"""Gate decision time with 1,000 policy lines and 100 roles: cold enforcer vs cached.

Everything runs in one process, one after the other, so the ratios hold on a noisy
machine. The baseline is Casbin's own ``enforce`` on the same files (what an uncached
gate pays per edge); `Policy.check` cold clears its cache before each call and also
lists every matching rule for the explanation; cached is the hot path every edge takes
after its first decision (the cache is cleared whenever the policy changes). Also shown:
a decision plus its audit record, and an envelope's HMAC check. Figures are µs per call.

    .venv/bin/python bench/policy.py              # 1,000 lines, 100 roles
    .venv/bin/python bench/policy.py --lines 5000 --roles 500
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import casbin

from mesh.audit import AuditLog
from mesh.identity import Keyring
from mesh.models import Envelope
from mesh.policy import Policy, write_defaults

USERS = 1_000
AGENTS = 300
ACTIONS = ("dispatch", "request", "publish")


def write_policy(folder: Path, lines: int, roles: int, seed: int = 7) -> Path:
    """A policy of `lines` p-lines over `roles` roles, with users, groups and denies."""
    rng = random.Random(seed)
    write_defaults(folder)
    out = [(folder / "policy.csv").read_text().rstrip("\n")]
    defaults = sum(1 for ln in out[0].splitlines() if ln.startswith("p,"))
    for i in range(lines - defaults):
        role = f"role:r{i % roles}"
        kind = rng.random()
        if kind < 0.6:
            obj = f"agent:a{rng.randrange(AGENTS)}"
        elif kind < 0.8:
            obj = f"group:g{rng.randrange(30)}"
        else:
            obj = f"agent:a{rng.randrange(30)}*"
        effect = "deny" if rng.random() < 0.05 else "allow"
        out.append(f"p, {role}, {obj}, {rng.choice(ACTIONS)}, {effect}")
    for u in range(USERS):
        out.append(f"g, u{u}, role:r{rng.randrange(roles)}")
    for r in range(0, roles, 5):  # some role hierarchy
        out.append(f"g, role:r{r}, role:r{(r + 1) % roles}")
    for a in range(AGENTS):
        out.append(f"g2, agent:a{a}, group:g{a % 30}")
    (folder / "policy.csv").write_text("\n".join(out) + "\n")
    return folder


def timed(fn: Callable[[], object], samples: int) -> list[float]:
    out = []
    for _ in range(samples):
        start = time.perf_counter_ns()
        fn()
        out.append((time.perf_counter_ns() - start) / 1_000)
    return out


def row(name: str, times: list[float], base: float) -> None:
    med = statistics.median(times)
    p99 = sorted(times)[int(len(times) * 0.99) - 1]
    print(f"| {name} | {med:,.2f} | {p99:,.2f} | {base / med:,.1f}× |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000)
    ap.add_argument("--roles", type=int, default=100)
    ap.add_argument("--cold", type=int, default=300, help="cold samples")
    ap.add_argument("--hot", type=int, default=100_000, help="cached samples")
    args = ap.parse_args()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_policy(Path(tmp) / "policy", args.lines, args.roles)
        policy = Policy.at(folder)
        p_lines = sum(1 for r in policy.rules() if r.startswith("p,"))
        g_lines = sum(1 for r in policy.rules() if r.startswith("g,"))
        queries = [
            (f"u{rng.randrange(USERS)}", f"agent:a{rng.randrange(AGENTS)}", rng.choice(ACTIONS))
            for _ in range(max(args.cold, 1_000))
        ]
        allowed = sum(policy.check(*q).allowed for q in queries[:1_000])
        print(
            f"policy: {p_lines} p-lines, {args.roles} roles, {g_lines} g-lines;"
            f" {allowed / 10:.1f}% of sampled requests allowed\n"
        )

        raw = casbin.Enforcer(str(folder / "model.conf"), str(folder / "policy.csv"))
        raw.add_function("selfMatch", lambda *a: False)
        it = iter(queries * 2)
        casbin_cold = timed(lambda: raw.enforce(*next(it)), args.cold)

        def cold_check() -> None:
            policy._cache.clear()
            policy.check(*next(it))

        it = iter(queries * 2)
        policy_cold = timed(cold_check, args.cold)

        for q in queries:
            policy.check(*q)
        hot = iter(queries * (args.hot // len(queries) + 1))
        policy_hot = timed(lambda: policy.check(*next(hot)), args.hot)

        audit = AuditLog(Path(tmp) / "audit.sqlite")

        again = iter(queries * 3)

        def gate() -> None:
            audit.decision(policy.check(*next(again)), "run", "task")

        with_audit = timed(gate, 2_000)

        keys = Keyring(Path(tmp) / "keys")
        envelope = keys.sign(
            Envelope(topic="agent:a1", sender="a2", kind="request", payload={"text": "x" * 200}),
            "a2",
        )
        assert keys.verify(envelope)[0]
        authenticate = timed(lambda: keys.verify(envelope), 5_000)

        base = statistics.median(casbin_cold)
        print("| gate step | median µs | p99 µs | speed-up vs Casbin enforce |")
        print("| --- | --- | --- | --- |")
        row("Casbin `enforce`, no cache (baseline)", casbin_cold, base)
        row("`Policy.check` cold (cache cleared, rules listed)", policy_cold, base)
        row("`Policy.check` cached (the gate's hot path)", policy_hot, base)
        row("cached check + audit record (SQLite WAL)", with_audit, base)
        row("envelope HMAC verify (key file stat + HMAC)", authenticate, base)
        med = statistics.median(policy_hot)
        verdict = "meets" if med <= 20 else "MISSES"
        print(f"\ncached gate median {med:.2f} µs: {verdict} the ≤ 20 µs acceptance")


if __name__ == "__main__":
    main()

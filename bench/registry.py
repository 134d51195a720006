"""The registry at scale: 100,000 skills, then search latency with and without filters.

25,000 synthetic agents x 4 skills (the first with one example): 150,000 vectors in an
embedded Chroma store, added with `register_many` in batches. Embedding 150,000 texts
with MiniLM takes minutes on 2 cores, and it is the model's cost, not the registry's:
so each record's vector is composed from real MiniLM vectors of its words (action,
object, qualifier, domain; plus a little noise, normalised), and the model's own rate is
measured beside. Queries are embedded by MiniLM at search time, inside the timing.

Phase two runs in a fresh process, as a server would: it reopens the store (rebuilding
the in-memory index), then times 200 distinct queries per filter, with Chroma's own
query (unfiltered and with `where`) on the same collection as the baseline.

    .venv/bin/python bench/registry.py                 # 25,000 agents x 4 skills
    .venv/bin/python bench/registry.py --agents 2500   # a quick look
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import chromadb
import numpy as np
from chromadb.config import Settings

from mesh.models import AgentCard, AgentState, Skill
from mesh.registry import Registry
from mesh.registry_index import records
from mesh.vectorstore.embeddings import MiniLMEmbedding


def _words(text: str) -> list[str]:
    return text.split()


DOMAINS = _words(
    """billing logistics marketing legal hiring security analytics support travel health
    education retail banking insurance energy media gaming farming shipping research
    manufacturing telecom housing tourism sports music publishing nonprofit government
    construction automotive aviation fashion food pharma biotech mining chemicals climate"""
)
ACTIONS = _words(
    """summarise translate classify extract validate forecast schedule monitor audit
    reconcile draft review price route track rank recommend detect anonymise convert
    compare estimate cluster geocode transcribe caption index archive notify escalate
    approve negotiate budget plan test deploy benchmark label deduplicate enrich score
    simulate optimise inspect certify book refund quote search publish redact verify"""
)
OBJECTS = _words(
    """invoices contracts shipments leads resumes alerts dashboards tickets orders payments
    claims policies reports emails transcripts images videos podcasts datasets spreadsheets
    logs metrics incidents vendors suppliers customers patients students courses products
    prices routes flights hotels tariffs meters sensors devices licences permits patents
    trademarks filings audits budgets forecasts campaigns surveys reviews articles
    headlines translations receipts timesheets payslips schedules rosters shifts warranties
    returns refunds subscriptions renewals loans mortgages portfolios trades quotes tenders
    bids grants donations volunteers events venues menus recipes inventories warehouses
    pallets containers vessels trucks drivers parcels labels barcodes catalogues listings
    properties leases tenants repairs inspections"""
)
QUALIFIERS = [
    *("daily", "weekly", "in bulk", "in real time", "across regions", "for executives"),
    *("for auditors", "with citations", "in plain language", "by priority", "overnight"),
    *("before deadlines", "for compliance", "at scale", "with confidence scores", "on request"),
    *("from scans", "from PDFs", "over email", "for mobile teams", "in several languages"),
]
STATES = [AgentState.AVAILABLE] * 90 + [AgentState.BUSY] * 4 + [AgentState.DRAINING] * 3
STATES += [AgentState.OFFLINE] * 3
QUERY_SHAPES = [
    "can you {a} our {o} today",
    "I need someone to {a} the {o}",
    "{a} {o} for the {d} team",
    "who can {a} {o} {q}?",
]


def make_cards(n: int, seed: int = 7) -> tuple[list[AgentCard], dict[str, list[str]]]:
    """Cards, and for every record text the words its vector is composed of."""
    rng = random.Random(seed)
    cards: list[AgentCard] = []
    parts: dict[str, list[str]] = {}
    for i in range(n):
        domain = DOMAINS[i % len(DOMAINS)]
        chosen: list[tuple[str, str, str]] = []
        while len(chosen) < 4:
            pick = (rng.choice(ACTIONS), rng.choice(OBJECTS), rng.choice(QUALIFIERS))
            if all(pick[:2] != c[:2] for c in chosen):
                chosen.append(pick)
        skills = [
            Skill(
                name=f"{a}_{o}",
                description=f"{a.capitalize()} {o} {q} for {domain} teams",
                tags=[o],
                examples=[f"please {a} the {o} {q}"] if j == 0 else [],
            )
            for j, (a, o, q) in enumerate(chosen)
        ]
        (a0, o0, _), (a1, o1, _) = chosen[:2]
        card = AgentCard(
            name=f"agent-{i:06d}",
            description=f"{domain.capitalize()} assistant that can {a0} {o0} and {a1} {o1}",
            owner=f"team-{i % 8}",
            tags=[domain, f"tier-{i % 20}"],
            state=STATES[i % 100],
            skills=skills,
        )
        cards.append(card)
        recs = records(card)
        parts[recs[0].text] = [domain, a0, o0, a1, o1]
        for rec in recs[1:]:
            a, o, q = chosen[rec.skill]
            parts[rec.text] = [a, o, q, domain] if rec.kind == 1 else [a, o, q]
    return cards, parts


def make_queries(n: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    out: set[str] = set()
    while len(out) < n:
        shape = rng.choice(QUERY_SHAPES)
        a, o, d, q = (rng.choice(x) for x in (ACTIONS, OBJECTS, DOMAINS, QUALIFIERS))
        out.add(shape.format(a=a, o=o, d=d, q=q))
    return sorted(out)


class ComposedMiniLM(MiniLMEmbedding):
    """Known record texts get their composed vector; anything else runs the model."""

    table: dict[str, Any] = {}  # noqa: RUF012 - filled once per process

    def __call__(self, input: Any) -> Any:
        texts = [input] if isinstance(input, str) else list(input)
        missing = [t for t in texts if t not in self.table]
        fresh = dict(zip(missing, super().__call__(missing), strict=True)) if missing else {}
        return [self.table[t] if t in self.table else fresh[t] for t in texts]


def compose(parts: dict[str, list[str]], seed: int = 3) -> dict[str, Any]:
    model = MiniLMEmbedding()
    vocab = sorted({w for words in parts.values() for w in words})
    word = dict(zip(vocab, model(vocab), strict=True))
    rng = np.random.default_rng(seed)
    weights = np.array([1.0, 1.0, 0.6, 0.5, 0.5], dtype=np.float32)
    table: dict[str, Any] = {}
    for text, words in parts.items():
        v = sum(w * word[x] for w, x in zip(weights, words, strict=False))
        v = np.asarray(v, dtype=np.float32) + rng.normal(0, 0.02, len(v)).astype(np.float32)
        table[text] = v / np.linalg.norm(v)
    return table


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def p50_p95(samples: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[round(0.95 * (len(ordered) - 1))]


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def build(args: argparse.Namespace, path: str) -> None:
    cards, parts = make_cards(args.agents)
    skills = sum(len(c.skills) for c in cards)
    print(f"{len(cards):,} agents, {skills:,} skills, {len(parts):,} vectors")
    model = MiniLMEmbedding()
    sample = list(parts)[:1000]
    model(sample[:50])
    took = timed(lambda: model(sample)) / 1000
    print(f"MiniLM alone: {len(sample) / took:,.0f} texts/s on these texts (not in the add below)")
    ComposedMiniLM.table = compose(parts)
    client = chromadb.PersistentClient(path, settings=Settings(anonymized_telemetry=False))
    reg = Registry(client, ComposedMiniLM())
    started = time.perf_counter()
    for start in range(0, len(cards), args.batch):
        reg.register_many(cards[start : start + args.batch])
        if start and start % (args.batch * 5) == 0:
            print(f"  {start:,} agents registered, {time.perf_counter() - started:.0f} s")
    took = time.perf_counter() - started
    vectors = reg.size["vectors"]
    print(
        f"add: {skills:,} skills ({vectors:,} vectors) in {took:.1f} s: {skills / took:,.0f}"
        f" skills/s, {vectors / took:,.0f} vectors/s (register_many of {args.batch} cards)"
    )


def serve(args: argparse.Namespace, path: str) -> None:
    rss0 = rss_mb()
    client = chromadb.PersistentClient(path, settings=Settings(anonymized_telemetry=False))
    model = MiniLMEmbedding()
    model.load()
    started = time.perf_counter()
    reg = Registry(client, model)
    took = time.perf_counter() - started
    print(f"reopen in a fresh process: index rebuilt from Chroma in {took:.1f} s, {reg.size}")
    print(f"RSS: {rss0:.0f} MB before opening, {rss_mb():.0f} MB serving the registry")
    queries = make_queries(args.queries)
    anns = {"n": 0}
    real_ann = reg._ann

    def counting(vector: Any, n: int) -> Any:
        anns["n"] += 1
        return real_ann(vector, n)

    reg._ann = counting  # type: ignore[method-assign]
    configs: list[tuple[str, dict[str, Any]]] = [
        ("no filter at all (state=None)", {"state": None}),
        ("default filter: state=available (90%)", {}),
        ("owner (1/8 of agents)", {"owner": "team-3"}),
        ("tag (1/20 of agents)", {"tags": ["tier-3"]}),
        ("capability (1/95 of skills)", {"capability": "invoices"}),
        ("state=busy (4% of agents)", {"state": "busy"}),
        ("owner + tag (1/40)", {"owner": "team-3", "tags": ["tier-3"]}),
    ]
    vectors = dict(
        zip(queries, (np.asarray(v, dtype=np.float32) for v in model(queries)), strict=True)
    )
    chroma = {
        "Chroma alone, unfiltered (baseline)": None,
        "Chroma alone, where owner=team-3 (baseline)": {"owner": "team-3"},
    }
    for q in queries[:30]:
        reg.search(q)
    samples: dict[str, list[float]] = {}
    ann_calls: dict[str, int] = {}
    rng = random.Random(5)
    for q in queries:  # every configuration per query, in shuffled order: same load for all
        jobs: list[tuple[str, Callable[[], Any]]] = []
        for label, filters in configs:

            def cold(q: str = q, f: dict[str, Any] = filters) -> Any:
                reg._queries.clear()  # the search embeds its query
                return reg.search(q, k=5, **f)

            def warm(q: str = q, f: dict[str, Any] = filters) -> Any:
                reg._queries.put(q, vectors[q])  # the vector is known: ranking only
                return reg.search(q, k=5, **f)

            jobs += [(label, cold), (label + " [ranking only]", warm)]
        jobs.append(("MiniLM: embed the query alone", lambda q=q: model([q])))
        for label, where in chroma.items():
            jobs.append((label, lambda v=vectors[q], w=where: chroma_query(reg, v, w)))
        rng.shuffle(jobs)
        for label, job in jobs:
            anns["n"] = 0
            samples.setdefault(label, []).append(timed(job))
            ann_calls[label] = ann_calls.get(label, 0) + anns["n"]
    print(f"\nsearch, k=5, {len(queries)} distinct queries, interleaved{'p50':>12} {'p95':>7}  ANN")
    for label, values in sorted(samples.items(), key=_order(configs)):
        p50, p95 = p50_p95(values)
        print(f"  {label:<54} {p50:6.2f} {p95:7.2f} ms  {ann_calls.get(label, 0)}")
    print(f"RSS at the end: {rss_mb():.0f} MB")


def chroma_query(reg: Registry, vector: Any, where: dict[str, Any] | None) -> Any:
    return reg._agents.query(query_embeddings=[vector], n_results=10, where=where)


def _order(configs: list[tuple[str, dict[str, Any]]]) -> Callable[[tuple[str, Any]], int]:
    labels = [label for label, _ in configs]

    def key(item: tuple[str, Any]) -> int:
        base = item[0].removesuffix(" [ranking only]")
        at = labels.index(base) if base in labels else len(labels)
        return 2 * at + item[0].endswith("[ranking only]") + (100 if at == len(labels) else 0)

    return key


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--agents", type=int, default=25_000, help="agents, 4 skills each")
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--batch", type=int, default=1000, help="cards per register_many call")
    p.add_argument("--keep", type=Path, help="build the store here, or reuse the one there")
    p.add_argument("--serve", help=argparse.SUPPRESS)  # phase two, in a fresh process
    args = p.parse_args(argv)
    if args.serve:
        serve(args, args.serve)
        return 0
    with open("/proc/loadavg") as fh:
        print(f"load average before: {fh.read().split()[0]} (2 cores, shared)")
    with tempfile.TemporaryDirectory(prefix="mesh-bench-") as tmp:
        path = str(args.keep or tmp)
        if args.keep is None or not args.keep.exists():
            build(args, path)
        argv2 = [sys.executable, __file__, "--serve", path, "--queries", str(args.queries)]
        return subprocess.run(argv2, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())

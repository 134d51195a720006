"""Discovery quality on the labelled set in tests/data: plain Chroma vs the registry's ranking.

Prints top-1, top-5 and MRR (cut at rank 20) of

- plain Chroma on the same MiniLM model: one record per agent holding its description
  (the common way), one per agent holding the whole card, and the foundation registry's
  records (the card plus one per skill, best record per agent);
- the registry's ranking variants: dense over card, skills and examples; + lexical
  evidence; + name/tag evidence (the default);
- discovery that learns: a random share of the split's queries is fed as outcomes (as
  the orchestrator would report them), the rest are asked; averaged over seeds, with the
  lift split by whether the ask recurs (another phrasing of it was fed) or not.

    .venv/bin/python bench/discovery_eval.py --split dev      # tune here
    .venv/bin/python bench/discovery_eval.py --split heldout  # report only
    .venv/bin/python bench/discovery_eval.py --split dev --tune
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import chromadb
import numpy as np
from chromadb.config import Settings

from mesh.models import AgentCard
from mesh.ranking import RankingWeights
from mesh.registry import Registry
from mesh.registry_index import card_text, skill_text
from mesh.vectorstore.embeddings import MiniLMEmbedding

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
CUTOFF = 20
STATIC_ONLY = {"success": 0.0, "failure": 0.0}
VARIANTS: dict[str, dict[str, float]] = {
    "registry: dense (card + skills + examples)": {"lexical": 0.0, "names": 0.0, **STATIC_ONLY},
    "registry: dense + lexical": {"names": 0.0, **STATIC_ONLY},
    "registry: dense + lexical + names/tags": dict(STATIC_ONLY),
}


class CachedMiniLM(MiniLMEmbedding):
    """MiniLM with a memo, so repeated registrations and queries embed once per process."""

    memo: dict[str, Any] = {}  # noqa: RUF012 - shared on purpose

    def __call__(self, input: Any) -> Any:
        texts = [input] if isinstance(input, str) else list(input)
        missing = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if missing:
            self.memo.update(zip(missing, super().__call__(missing), strict=True))
        return [self.memo[t] for t in texts]

    def embed_query(self, input: Any) -> Any:
        return self(input)


def load(split: str) -> tuple[list[AgentCard], list[dict[str, str]]]:
    cards = [AgentCard.model_validate_json(line) for line in (DATA / "agents.jsonl").open()]
    queries = [json.loads(line) for line in (DATA / f"queries_{split}.jsonl").open()]
    return cards, queries


def metrics(ranks: Sequence[int | None]) -> tuple[float, float, float]:
    """top-1, top-5, MRR@20 of 1-based ranks (None: not in the first 20)."""
    n = len(ranks) or 1
    top1 = sum(r == 1 for r in ranks) / n
    top5 = sum(r is not None and r <= 5 for r in ranks) / n
    mrr = sum(1 / r for r in ranks if r is not None) / n
    return top1, top5, mrr


def rank_of(agent: str, ordered: Sequence[str]) -> int | None:
    seen: list[str] = []
    for name in ordered:
        if name not in seen:
            seen.append(name)
        if len(seen) > CUTOFF:
            break
    return seen.index(agent) + 1 if agent in seen[:CUTOFF] else None


def plain_chroma(
    client: Any, ef: CachedMiniLM, cards: list[AgentCard], queries: list[dict[str, str]], mode: str
) -> list[int | None]:
    """Plain Chroma: add documents, query by text, read the agents in distance order."""
    ids, docs, owners = [], [], []
    for card in cards:
        if mode == "description":
            texts = [card.description]
        elif mode == "card":
            texts = [card_text(card) + " " + " ".join(skill_text(card, s) for s in card.skills)]
        else:
            texts = [card_text(card)] + [skill_text(card, s) for s in card.skills]
        for i, text in enumerate(texts):
            ids.append(f"{card.name}-{i}")
            docs.append(text)
            owners.append(card.name)
    col = client.create_collection(
        f"plain-{mode}", configuration={"hnsw": {"space": "cosine"}}, embedding_function=ef
    )
    col.add(ids=ids, documents=docs, metadatas=[{"agent": a} for a in owners])
    ranks: list[int | None] = []
    for start in range(0, len(queries), 20):  # one big query runs out of SQL variables
        batch = queries[start : start + 20]
        got = col.query(
            query_texts=[q["query"] for q in batch], n_results=len(ids), include=["metadatas"]
        )
        ranks += [
            rank_of(q["agent"], [str(m["agent"]) for m in metas])
            for q, metas in zip(batch, got["metadatas"], strict=True)
        ]
    return ranks


def registry_ranks(reg: Registry, queries: Sequence[dict[str, str]]) -> list[int | None]:
    return [
        rank_of(q["agent"], [m.card.name for m in reg.search(q["query"], k=CUTOFF, state=None)])
        for q in queries
    ]


class Lab:
    """Registries over one Chroma client, each in its own namespace."""

    def __init__(self, cards: list[AgentCard]) -> None:
        self.dir = tempfile.TemporaryDirectory(prefix="mesh-eval-")
        self.client = chromadb.PersistentClient(
            self.dir.name, settings=Settings(anonymized_telemetry=False)
        )
        self.ef = CachedMiniLM()
        self.cards = cards
        self.count = 0

    def registry(self, **weights: float) -> Registry:
        self.count += 1
        reg = Registry(
            self.client,
            self.ef,
            namespace=f"eval{self.count}",
            weights=RankingWeights(**weights),
        )
        reg.register_many(self.cards)
        return reg


def feed(reg: Registry, query: dict[str, str], mode: str) -> None:
    """Report outcomes as the orchestrator would: failures of wrong picks, success of the right."""
    found = [m.card.name for m in reg.search(query["query"], k=3)]
    if mode == "label":
        if found and found[0] != query["agent"]:
            reg.record_outcome(query["query"], found[0], False)
        reg.record_outcome(query["query"], query["agent"], True)
        return
    for name in found:  # "orchestrator": walk the three candidates, stop at the right one
        reg.record_outcome(query["query"], name, name == query["agent"])
        if name == query["agent"]:
            return


def learning(
    lab: Lab,
    queries: list[dict[str, str]],
    fraction: float,
    seeds: int,
    mode: str,
    weights: dict[str, float],
) -> dict[str, float]:
    base_reg = lab.registry(**weights)
    base = dict(zip((q["query"] for q in queries), registry_ranks(base_reg, queries), strict=True))
    rows: dict[str, list[float]] = {"before": [], "after": [], "seen_b": [], "seen_a": []}
    rows |= {"unseen_b": [], "unseen_a": [], "seen_share": []}
    for seed in range(seeds):
        rng = random.Random(seed)
        fed = rng.sample(queries, max(1, round(fraction * len(queries))))
        fed_q = {q["query"] for q in fed}
        reg = lab.registry(**weights)
        for q in fed:
            feed(reg, q, mode)
        rest = [q for q in queries if q["query"] not in fed_q]
        after = dict(zip((q["query"] for q in rest), registry_ranks(reg, rest), strict=True))
        seen_intents = {q["intent"] for q in fed}
        seen = [q for q in rest if q["intent"] in seen_intents]
        unseen = [q for q in rest if q["intent"] not in seen_intents]
        rows["before"].append(metrics([base[q["query"]] for q in rest])[0])
        rows["after"].append(metrics([after[q["query"]] for q in rest])[0])
        for label, part in (("seen", seen), ("unseen", unseen)):
            if part:
                rows[f"{label}_b"].append(metrics([base[q["query"]] for q in part])[0])
                rows[f"{label}_a"].append(metrics([after[q["query"]] for q in part])[0])
        rows["seen_share"].append(len(seen) / len(rest))
    return {k: statistics.fmean(v) if v else float("nan") for k, v in rows.items()} | {
        "sd_after": statistics.pstdev(rows["after"])
    }


def online(
    lab: Lab, queries: list[dict[str, str]], fraction: float, seeds: int
) -> dict[str, float]:
    """Prequential top-1: each query is scored before its own outcomes are recorded."""
    base_reg = lab.registry()
    base = dict(zip((q["query"] for q in queries), registry_ranks(base_reg, queries), strict=True))
    rows: dict[str, list[float]] = {k: [] for k in ("before", "after", "seen_share")}
    rows |= {"seen_b": [], "seen_a": [], "unseen_b": [], "unseen_a": []}
    for seed in range(seeds):
        rng = random.Random(seed)
        stream = queries[:]
        rng.shuffle(stream)
        warm = max(1, round(fraction * len(stream)))
        reg = lab.registry()
        known: set[str] = set()
        for q in stream[:warm]:
            feed(reg, q, "orchestrator")
            known.add(q["intent"])
        got: dict[str, list[tuple[int | None, int | None]]] = {"seen": [], "unseen": []}
        for q in stream[warm:]:
            rank = registry_ranks(reg, [q])[0]
            got["seen" if q["intent"] in known else "unseen"].append((base[q["query"]], rank))
            feed(reg, q, "orchestrator")
            known.add(q["intent"])
        pairs = got["seen"] + got["unseen"]
        rows["before"].append(metrics([b for b, _ in pairs])[0])
        rows["after"].append(metrics([a for _, a in pairs])[0])
        rows["seen_share"].append(len(got["seen"]) / len(pairs))
        for label, part in got.items():
            if part:
                rows[f"{label}_b"].append(metrics([b for b, _ in part])[0])
                rows[f"{label}_a"].append(metrics([a for _, a in part])[0])
    return {k: statistics.fmean(v) if v else float("nan") for k, v in rows.items()} | {
        "sd_after": statistics.pstdev(rows["after"])
    }


def ceiling(
    lab: Lab, queries: list[dict[str, str]], fraction: float, seeds: int
) -> dict[str, float]:
    """The most any learning from outcomes could lift top-1 on this set: an oracle that
    fixes every wrong first pick the fed outcomes say anything about (another phrasing of
    the ask was fed, the right agent succeeded on some fed query, or the wrong one failed
    on one), and no other."""
    reg = lab.registry()
    first = {q["query"]: reg.search(q["query"], k=1, state=None)[0].card.name for q in queries}
    wrong = {q["query"]: first[q["query"]] for q in queries if first[q["query"]] != q["agent"]}
    before, after = [], []
    for seed in range(seeds):
        fed = random.Random(seed).sample(queries, max(1, round(fraction * len(queries))))
        fed_q = {q["query"] for q in fed}
        intents = {q["intent"] for q in fed}
        succeeded = {q["agent"] for q in fed}
        failed = {wrong[q["query"]] for q in fed if q["query"] in wrong}
        rest = [q for q in queries if q["query"] not in fed_q]
        fixable = [
            q["intent"] in intents or q["agent"] in succeeded or wrong[q["query"]] in failed
            for q in rest
            if q["query"] in wrong
        ]
        before.append(1 - len(fixable) / len(rest))
        after.append(1 - fixable.count(False) / len(rest))
    return {"before": statistics.fmean(before), "after": statistics.fmean(after)}


def tune(lab: Lab, queries: list[dict[str, str]], emit: Callable[[str], None]) -> None:
    """Coarse grid over the static weights, then the learning weights, on this split."""
    results = []
    grid = {
        "skill": [0.5, 1.0],
        "example": [0.5, 1.0],
        "card": [1.0, 1.5, 2.0],
        "lexical": [0.5, 1.0, 1.5],
        "names": [0.0, 0.5],
    }
    reg = lab.registry(**STATIC_ONLY)
    for values in itertools.product(*grid.values()):
        w = dict(zip(grid, values, strict=True))
        reg.weights = RankingWeights(**w, **STATIC_ONLY)
        results.append((metrics(registry_ranks(reg, queries)), w))
    results.sort(key=lambda r: (r[0][0], r[0][2]), reverse=True)
    for (t1, t5, mrr), w in results[:8]:
        emit(f"static top1 {t1:.3f} top5 {t5:.3f} mrr {mrr:.3f}  {w}")
    best_static = results[0][1]
    for succ, thr in itertools.product([0.1, 0.2, 0.3, 0.5], [0.4, 0.5, 0.6]):
        w = best_static | {"success": succ, "failure": succ, "outcome_threshold": thr}
        got = learning(lab, queries, 0.1, 5, "label", w)
        emit(f"learning +{(got['after'] - got['before']) * 100:.1f}  {w}")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--split", choices=["dev", "heldout"], default="dev")
    p.add_argument("--fraction", type=float, default=0.1, help="share of queries fed as outcomes")
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--tune", action="store_true", help="grid-search weights (dev split only)")
    args = p.parse_args(argv)
    if args.tune and args.split != "dev":
        p.error("tuning on the held-out split is not allowed")
    cards, queries = load(args.split)
    lab = Lab(cards)
    started = time.perf_counter()
    if args.tune:
        tune(lab, queries, print)
        return 0
    asks = [q for q in queries if q["kind"] != "recurring"]
    print(
        f"split {args.split}: {len(cards)} agents, {len(queries)} queries"
        f" ({len(asks)} distinct asks + {len(queries) - len(asks)} recurring phrasings)"
    )
    print(f"{'ranking':<46} {'top-1':>6} {'top-5':>6} {'MRR':>6}   asks only: top-1 top-5  MRR")
    rows: list[tuple[str, list[int | None]]] = []
    for mode, label in (
        ("description", "plain Chroma: description per agent"),
        ("card", "plain Chroma: whole card per agent"),
        ("skills", "plain Chroma: card + skill records (foundation)"),
    ):
        rows.append((label, plain_chroma(lab.client, lab.ef, cards, queries, mode)))
    for label, weights in VARIANTS.items():
        rows.append((label, registry_ranks(lab.registry(**weights), queries)))
    is_ask = [q["kind"] != "recurring" for q in queries]
    for label, ranks in rows:
        t1, t5, mrr = metrics(ranks)
        a1, a5, amrr = metrics([r for r, a in zip(ranks, is_ask, strict=True) if a])
        print(f"{label:<46} {t1:6.3f} {t5:6.3f} {mrr:6.3f}   {a1:15.3f} {a5:5.3f} {amrr:5.3f}")
    kinds = sorted({q["kind"] for q in queries})
    best = rows[-1][1]
    dense = rows[0][1]
    by_kind = []
    for kind in kinds:
        sel = [i for i, q in enumerate(queries) if q["kind"] == kind]
        d = metrics([dense[i] for i in sel])[0]
        b = metrics([best[i] for i in sel])[0]
        by_kind.append(f"{kind} {d:.2f}->{b:.2f} (n={len(sel)})")
    print("top-1 by kind, plain description -> default ranking: " + "; ".join(by_kind))
    print(
        f"\nlearning: {args.fraction:.0%} of the queries fed as outcomes, the rest asked,"
        f" mean of {args.seeds} random draws"
    )
    for mode in ("label", "orchestrator"):
        got = learning(lab, queries, args.fraction, args.seeds, mode, {})
        print(
            f"  feedback={mode:<12} top-1 {got['before']:.3f} -> {got['after']:.3f}"
            f" ({(got['after'] - got['before']) * 100:+.1f} points, sd {got['sd_after']:.3f});"
            f" recurring asks ({got['seen_share']:.0%} of asked): {got['seen_b']:.3f} ->"
            f" {got['seen_a']:.3f}; unseen asks: {got['unseen_b']:.3f} -> {got['unseen_a']:.3f}"
        )
    top = ceiling(lab, queries, args.fraction, args.seeds)
    print(
        f"  ceiling (an oracle fixing every wrong pick the fed outcomes touch): top-1"
        f" {top['before']:.3f} -> {top['after']:.3f}"
        f" ({(top['after'] - top['before']) * 100:+.1f} points)"
    )
    got = online(lab, queries, args.fraction, max(1, args.seeds // 4))
    print(
        f"  every run recorded after a {args.fraction:.0%} warm-up (prequential, orchestrator"
        f" feedback): top-1 {got['before']:.3f} -> {got['after']:.3f}"
        f" ({(got['after'] - got['before']) * 100:+.1f} points, sd {got['sd_after']:.3f});"
        f" recurring asks ({got['seen_share']:.0%} of asked): {got['seen_b']:.3f} ->"
        f" {got['seen_a']:.3f}; unseen asks: {got['unseen_b']:.3f} -> {got['unseen_a']:.3f}"
    )
    print(f"\n({time.perf_counter() - started:.0f} s; MiniLM {np.__name__} offline)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

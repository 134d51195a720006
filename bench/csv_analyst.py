"""The CSV analyst's cost per question on a table with many distinct text values.

A question is checked for values it names ("how many orders are shipped"), so its cost
grows with the distinct values of the text columns. Baseline, in the same process:
reading those distinct values alone (`Series.unique()` on every text column), which any
value lookup needs.

    .venv/bin/python bench/csv_analyst.py
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from functools import partial

import pandas as pd

from mesh.agents.csv_analyst import analyse


def median_ms(fn: Callable[[], object], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def distinct(frame: pd.DataFrame) -> list[object]:
    return [frame[c].unique() for c in ("customer", "status")]


def main() -> None:
    for rows in (1_000, 50_000):
        frame = pd.DataFrame(
            {
                "customer": [f"cust{i}" for i in range(rows)],
                "status": ["shipped", "pending"] * (rows // 2),
                "amount": range(rows),
            }
        )
        base = median_ms(partial(distinct, frame))
        for question in ("how many orders are shipped", "total amount by status"):
            took = median_ms(partial(analyse, frame, question))
            print(
                f"{rows:>6} rows, {rows:,} distinct names  {question!r:32} {took:7.1f} ms"
                f"  (distinct values alone {base:.1f} ms, ratio {took / base:.1f}x)"
            )


if __name__ == "__main__":
    main()

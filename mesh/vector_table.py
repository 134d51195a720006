"""The registry's vectors in memory, and nearest-row search over any subset of them.

Scanning a filtered subset exactly costs a gather of every passing row (1.5 KB each):
fine for a few thousand rows, memory-bound beyond (~8 ms for 19k rows on a busy 2-core
machine). So once the table is big, subsets are first scanned in a 64-dimensional
projection (the top principal directions of the stored vectors, refitted as the table
doubles), and only the best few hundred are re-scored at full width.

Dot products go through ``einsum``, which runs in the calling thread: multi-threaded
BLAS on small matrices spins when the cores are busy (p95 of a 2k x 384 product rose
from 0.15 ms to 16 ms here under load).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

PROJECTED_DIMS = 64
FIT_MIN_ROWS = 8192
FIT_SAMPLE = 20_000
EXACT_ROWS = 4096
RESCORE_FACTOR = 5

Vector = npt.NDArray[np.float32]
Rows = npt.NDArray[np.int64]


def dot(matrix: npt.NDArray[np.float32], vector: Vector) -> Vector:
    """matrix @ vector in this thread (see the module note on BLAS)."""
    return np.einsum("ij,j->i", matrix, vector)


def grow(arr: npt.NDArray[Any], need: int) -> npt.NDArray[Any]:
    """`arr` with room for `need` rows, contents kept; doubling while small, then +25 %."""
    if need <= len(arr):
        return arr
    factor = 2.0 if len(arr) < 65_536 else 1.25
    bigger = np.zeros((max(need, int(factor * len(arr)), 64), *arr.shape[1:]), dtype=arr.dtype)
    bigger[: len(arr)] = arr
    return bigger


def top(scores: Vector, need: int) -> npt.NDArray[np.intp]:
    """Positions of the `need` highest scores, best first."""
    if len(scores) > need:
        best = np.argpartition(-scores, need)[:need]
        return best[np.argsort(-scores[best])]
    return np.argsort(-scores)


class VectorTable:
    """Append-only rows of unit vectors; rows are never moved, so ids stay valid."""

    def __init__(self) -> None:
        self._rows = np.zeros((0, 0), dtype=np.float32)
        self._proj = np.zeros((0, 0), dtype=np.float32)
        self._basis: npt.NDArray[np.float32] | None = None
        self._fitted_at = 0
        self.n = 0

    def reserve(self, rows: int, dims: int) -> None:
        """Room for `rows` more rows, so a bulk load allocates once."""
        if not self._rows.shape[1]:
            self._rows = np.zeros((0, dims), dtype=np.float32)
        if self.n + rows > len(self._rows):
            bigger = np.zeros((self.n + rows, self._rows.shape[1]), dtype=np.float32)
            bigger[: self.n] = self._rows[: self.n]
            self._rows = bigger

    def extend(self, matrix: npt.NDArray[np.float32]) -> range:
        """Append the rows of `matrix`; their row ids."""
        self.reserve(0, matrix.shape[1])
        start = self.n
        self._rows = grow(self._rows, start + len(matrix))
        self._rows[start : start + len(matrix)] = matrix
        self.n += len(matrix)
        if self._basis is not None:
            self._proj = grow(self._proj, self.n)
            self._proj[start : self.n] = matrix @ self._basis
        if self.n >= FIT_MIN_ROWS and self.n >= 2 * self._fitted_at:
            self._fit()
        return range(start, self.n)

    def get(self, rows: Rows | list[int]) -> npt.NDArray[np.float32]:
        return self._rows[np.asarray(rows, dtype=np.int64)]

    def _fit(self) -> None:
        rng = np.random.default_rng(0)
        count = min(self.n, FIT_SAMPLE)
        sample = self._rows[np.sort(rng.choice(self.n, count, replace=False))]
        _, vectors = np.linalg.eigh(sample.T @ sample)  # uncentred: x.q ~ (xB).(qB)
        self._basis = np.ascontiguousarray(vectors[:, ::-1][:, :PROJECTED_DIMS], dtype=np.float32)
        self._proj = np.ascontiguousarray(self._rows[: self.n] @ self._basis)
        self._fitted_at = self.n

    def nearest(self, query: Vector, rows: Rows, need: int) -> Rows:
        """The `need` rows among `rows` most similar to `query`, best first."""
        if len(rows) <= max(EXACT_ROWS, need) or self._basis is None:
            return rows[top(dot(self.get(rows), query), need)]
        coarse = dot(self._proj[rows], query @ self._basis)
        shortlist = rows[top(coarse, need * RESCORE_FACTOR)]
        return shortlist[top(dot(self.get(shortlist), query), need)]

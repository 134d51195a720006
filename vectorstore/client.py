"""Open Chroma the way the mesh uses it: embedded under the mesh home, or a `chroma run` server.

Importing this module also registers the mesh's embedding functions with Chroma, so a
collection persisted with them reopens with them.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import chromadb
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.api.types import Documents, EmbeddingFunction
from chromadb.config import Settings

from mesh.errors import ConfigError
from mesh.vectorstore.embeddings import MiniLMEmbedding

DEFAULT_PORT = 8000
_URL_FORM = "http://HOST:PORT or https://HOST[:PORT], e.g. http://127.0.0.1:8000"


def _settings() -> Settings:
    return Settings(anonymized_telemetry=False)


def parse_chroma_url(url: str) -> tuple[str, int, bool]:
    """(host, port, ssl) of a Chroma server URL; ConfigError naming the expected form."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ConfigError(
            f"MESH_CHROMA_URL {url!r} is not a valid URL ({exc}): use {_URL_FORM}"
        ) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"MESH_CHROMA_URL {url!r} is not a Chroma server URL: use {_URL_FORM}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(
            f"MESH_CHROMA_URL {url!r} has a path or query, which Chroma does not use:"
            f" use {_URL_FORM}"
        )
    ssl = parts.scheme == "https"
    if port is None:
        port = 443 if ssl else DEFAULT_PORT
    return parts.hostname, port, ssl


def make_client(home: Path, chroma_url: str | None) -> ClientAPI:
    """Embedded Chroma under ``home/chroma`` unless a server URL is given; telemetry off."""
    if not chroma_url:
        path = Path(home).expanduser() / "chroma"
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the Chroma store at {path}: {exc}; set MESH_HOME to a writable"
                " directory"
            ) from exc
        return chromadb.PersistentClient(path=str(path), settings=_settings())
    host, port, ssl = parse_chroma_url(chroma_url)
    try:
        client = chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=_settings())
        client.heartbeat()
    except Exception as exc:
        raise ConfigError(
            f"cannot reach the Chroma server at {chroma_url} ({exc}): start one with"
            f" `chroma run --host 127.0.0.1 --port {port} --path {Path(home) / 'chroma'}`,"
            " or unset MESH_CHROMA_URL to use the embedded store"
        ) from exc
    return client


def get_collection(
    client: ClientAPI,
    name: str,
    embedding_function: EmbeddingFunction[Documents] | None = None,
) -> Collection:
    """Get or create `name` with cosine distance and its embedding function stored in its config.

    The embedding function defaults to the offline :class:`MiniLMEmbedding`.

    Chroma 1.x reads the space from ``configuration={"hnsw": {"space": ...}}``; the old
    ``metadata={"hnsw:space": ...}`` still works but is the legacy path. A collection
    that already exists keeps the space and embedding function it was created with;
    asking for it with a different embedding function is a ConfigError.
    """
    try:
        return client.get_or_create_collection(
            name=name,
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=embedding_function or MiniLMEmbedding(),  # type: ignore[arg-type]
        )
    except ValueError as exc:
        if "embedding function" not in str(exc).lower():
            raise
        raise ConfigError(
            f"Chroma collection {name!r} was created with another embedding function ({exc});"
            " use that one, or delete the collection to re-index with this one"
        ) from exc


__all__ = ["get_collection", "make_client", "parse_chroma_url"]

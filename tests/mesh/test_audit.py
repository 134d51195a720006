"""The audit log: append-only, hash-chained, and tampering is found."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mesh.audit import AuditLog


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

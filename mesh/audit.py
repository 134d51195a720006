"""The audit log: every gate decision, append-only, in a SHA-256 hash chain.

Each record stores the hash of the one before, so an edit, a deletion or a reordering
breaks the chain at the first changed record and `verify` names it. Triggers refuse
UPDATE and DELETE through SQLite; someone with the file can still drop them and re-hash,
which is why `head()` exists: export the chain head somewhere the writer cannot rewrite.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from mesh.errors import AuditError
from mesh.models import AuditRecord, Decision

GENESIS = "0" * 64
AUDITOR = "mesh:audit"
_TRIGGERS = ("audit_no_update", "audit_no_delete")
_FIELDS = ("seq", "ts", "principal", "action", "obj", "decision", "reason", "run_id", "task_id")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    principal TEXT NOT NULL,
    action TEXT NOT NULL,
    obj TEXT NOT NULL,
    decision TEXT NOT NULL,
    reason TEXT NOT NULL,
    run_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


Entry = tuple[str, str, str, str, str, str, str]
"""principal, action, object, decision, reason, run id, task id"""


_INSERT = "INSERT INTO audit VALUES (?,?,?,?,?,?,?,?,?,?,?)"
_APPEND_TRIES = 5


def _chain(
    entries: Sequence[Entry], seq: int, prev: str
) -> tuple[list[tuple[object, ...]], list[AuditRecord]]:
    """Rows and records for `entries`, chained after record `seq` whose hash is `prev`."""
    rows: list[tuple[object, ...]] = []
    out: list[AuditRecord] = []
    for principal, action, obj, decision, reason, run_id, task_id in entries:
        seq += 1
        fields: dict[str, object] = {
            "seq": seq,
            "ts": datetime.now(UTC).isoformat(),
            "principal": principal,
            "action": action,
            "obj": obj,
            "decision": decision,
            "reason": reason,
            "run_id": run_id,
            "task_id": task_id,
        }
        digest = record_hash(fields, prev)
        rows.append((*fields.values(), prev, digest))
        out.append(AuditRecord(**fields, prev_hash=prev, hash=digest))  # type: ignore[arg-type]
        prev = digest
    return rows, out


def record_hash(fields: dict[str, object], prev_hash: str) -> str:
    body = json.dumps([fields[f] for f in _FIELDS], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # survives a process crash
            missing = self._missing_triggers()
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise AuditError(f"cannot open the audit log {path}: {exc}") from exc
        self._lock = threading.Lock()
        self._head: tuple[int, str] | None = None
        if missing:
            # someone dropped the guards; they are back now, and the log says so
            self.record(
                AUDITOR,
                "integrity",
                "audit",
                "deny",
                f"the append-only triggers {missing} were missing and have been recreated:"
                " run `mesh audit verify` and compare the head you exported",
            )

    def _missing_triggers(self) -> list[str]:
        names = {
            row[0]
            for row in self._db.execute("SELECT name FROM sqlite_master WHERE type='trigger'")
        }
        table = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='audit'"
        ).fetchone()
        return [t for t in _TRIGGERS if t not in names] if table else []

    def record(
        self,
        principal: str,
        action: str,
        obj: str,
        decision: str,
        reason: str = "",
        run_id: str = "",
        task_id: str = "",
    ) -> AuditRecord:
        return self.record_many([(principal, action, obj, decision, reason, run_id, task_id)])[0]

    def record_many(self, entries: Sequence[Entry]) -> list[AuditRecord]:
        """Append records in one transaction: all of them or, on an error, none.

        The chain head is kept in memory, so a record costs one INSERT; the sequence
        number is the primary key, so if another process appended meanwhile the INSERT
        fails, the head is re-read and the records are chained again.
        """
        if not entries:
            return []
        with self._lock:
            for _ in range(_APPEND_TRIES):
                if self._head is None:
                    row = self._db.execute(
                        "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"
                    ).fetchone()
                    self._head = (row[0], row[1]) if row else (0, GENESIS)
                rows, out = _chain(entries, *self._head)
                try:
                    if len(rows) == 1:
                        self._db.execute(_INSERT, rows[0])  # one statement: atomic alone
                    else:
                        self._db.execute("BEGIN IMMEDIATE")
                        try:
                            self._db.executemany(_INSERT, rows)
                            self._db.execute("COMMIT")
                        except BaseException:
                            self._db.execute("ROLLBACK")
                            raise
                except sqlite3.IntegrityError:
                    self._head = None  # another writer appended: chain onto its head
                    continue
                self._head = (out[-1].seq, out[-1].hash)
                return out
        raise AuditError(
            f"could not append to {self.path}: other writers kept appending; try again"
        )

    def decision(self, d: Decision, run_id: str = "", task_id: str = "") -> AuditRecord:
        return self.decisions([d], run_id, task_id)[0]

    def decisions(
        self, ds: Iterable[Decision], run_id: str = "", task_id: str = ""
    ) -> list[AuditRecord]:
        """Record gate decisions, allowed or denied, with the rule that decided each."""
        return self.record_many(
            [
                (
                    d.subject,
                    d.action,
                    d.obj,
                    "allow" if d.allowed else "deny",
                    d.reason,
                    run_id,
                    task_id,
                )
                for d in ds
            ]
        )

    def decisions_by_task(
        self, run_id: str, by_task: Mapping[str, Iterable[Decision]]
    ) -> list[AuditRecord]:
        """Many tasks' decisions (e.g. one discovery step's) in one transaction."""
        return self.record_many(
            [
                (d.subject, d.action, d.obj, "allow" if d.allowed else "deny", d.reason, run_id, t)
                for t, ds in by_task.items()
                for d in ds
            ]
        )

    def records(self, limit: int | None = None, **equals: str) -> list[AuditRecord]:
        """Newest last; `equals` filters on columns (principal=, decision=, run_id= ...)."""
        unknown = set(equals) - set(_FIELDS)
        if unknown:
            raise AuditError(f"cannot filter the audit log on {sorted(unknown)}: use {_FIELDS}")
        where = " AND ".join(f"{k} = ?" for k in equals) or "1"
        sql = f"SELECT * FROM audit WHERE {where} ORDER BY seq DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            rows = self._db.execute(sql, tuple(equals.values())).fetchall()
        names = [*_FIELDS, "prev_hash", "hash"]
        return [AuditRecord(**dict(zip(names, r, strict=True))) for r in reversed(rows)]

    def head(self) -> str:
        """The hash of the newest record: keep it elsewhere to detect a full re-hash."""
        with self._lock:
            row = self._db.execute("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return row[0] if row else GENESIS

    def verify(self, expected_head: str | None = None) -> tuple[bool, str]:
        """Recompute the chain; (ok, message naming the first bad record)."""
        prev, expected_seq, count = GENESIS, 1, 0
        with self._lock:
            try:
                cursor = self._db.execute("SELECT * FROM audit ORDER BY rowid")
                for row in cursor:
                    problem = _check_row(row, prev, expected_seq)
                    if problem:
                        return False, problem
                    prev, expected_seq, count = row[10], expected_seq + 1, count + 1
            except sqlite3.DatabaseError as exc:
                return False, f"the audit log cannot be read: {exc}"
        if expected_head is not None and prev != expected_head:
            return False, (
                f"chain head {prev[:12]}… after {count} records is not the expected"
                f" {expected_head[:12]}…: records were removed from the end or the whole"
                " chain was rewritten"
            )
        return True, f"{count} records, chain intact, head {prev}"

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _check_row(row: Sequence[object], prev: str, expected_seq: int) -> str | None:
    fields = dict(zip(_FIELDS, row[:9], strict=True))
    stored_prev, stored_hash = row[9], row[10]
    seq = fields["seq"]
    if seq != expected_seq:
        return (
            f"record {seq}: found where record {expected_seq} should be (record"
            f" {expected_seq} was deleted, or records were renumbered or reordered)"
        )
    if stored_prev != prev:
        return f"record {seq}: its previous-hash does not match record {expected_seq - 1}"
    if record_hash(fields, prev) != stored_hash:
        return f"record {seq}: its contents do not match its hash (edited or moved)"
    return None

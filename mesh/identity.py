"""Agent identity: a secret per agent, and an HMAC over everything it sends.

The mesh issues each agent a 256-bit secret when its card is registered and keeps it in
``MESH_HOME/keys/<name>.key`` (file 0600, folder 0700), never in the registry, whose
metadata anyone who may search can read. A message an agent sends (an `Envelope`, or a
`TaskResult` coming back from a remote agent) carries HMAC-SHA256 over a canonical JSON
form of it; the gate recomputes the HMAC with the key of the agent the message *claims*
to come from and compares in constant time. A message that names another sender, was
altered after signing, or carries no signature is refused, whatever its text says.

A remote agent gets its secret once from `Keyring.issue` and signs with
`envelope_signature` / `result_signature`; in-process agents are signed for by the
worker, with the key of the agent that actually ran.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import stat
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import ParamSpec, TypeVar

from pydantic import BaseModel

from mesh.errors import ConfigError, InputError
from mesh.models import NAME_PATTERN, Envelope, TaskResult

SCHEME = "hmac-sha256:"
ORCHESTRATOR = "mesh:orchestrator"
USER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}$"
_NAME_RE = re.compile(NAME_PATTERN)
_USER_RE = re.compile(USER_PATTERN)
_acting: ContextVar[str | None] = ContextVar("mesh_principal", default=None)
P = ParamSpec("P")
R = TypeVar("R")


def principal_problem(subject: str) -> str | None:
    """Why `subject` cannot act (a role, a pattern, a malformed name), or None if it can."""
    if subject == ORCHESTRATOR:
        return None
    if subject.startswith("agent:"):
        if _NAME_RE.match(subject.removeprefix("agent:")):
            return None
        return f"{subject!r} is not a valid agent principal: use agent:<card name>"
    if subject.startswith(("role:", "group:")):
        return (
            f"{subject} is a role or group, not a principal: grant it to a user with"
            " add_role, and let that user act"
        )
    if _USER_RE.match(subject):
        return None
    return (
        f"{subject!r} is not a valid principal: users are plain names (letters, digits,"
        " '_', '.', '@', '+', '-'; no ':' or '*'), agents are agent:<card name>"
    )


def check_user(name: str) -> str:
    """`name` if it is a valid user name; users can never pose as agents or roles."""
    if not _USER_RE.match(name):
        raise InputError(
            f"user {name!r} is not a valid principal: give a plain name of letters, digits,"
            " '_', '.', '@', '+' or '-' (':' and '*' are reserved for agents, roles and"
            " patterns)"
        )
    return name


@contextmanager
def acting_as(principal: str) -> Iterator[str]:
    """Within this block, registry writes (and other gated calls) act as `principal`."""
    problem = principal_problem(principal)
    if problem:
        raise InputError(problem)
    token = _acting.set(principal)
    try:
        yield principal
    finally:
        _acting.reset(token)


def acting_principal() -> str | None:
    """The principal set by `acting_as` in this context, if any."""
    return _acting.get()


def run_as(principal: str, fn: Callable[P, R]) -> Callable[P, R]:
    """`fn`, called as `principal`: how the worker runs an agent under its own identity."""

    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        with acting_as(principal):
            return fn(*args, **kwargs)

    return call


def canonical(model: BaseModel, exclude: set[str] | None = None) -> bytes:
    """One byte string per message content: sorted keys, no whitespace, UTF-8."""
    data = model.model_dump(mode="json", exclude=exclude)
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _mac(secret: bytes, body: bytes) -> str:
    return SCHEME + hmac.new(secret, body, hashlib.sha256).hexdigest()


def envelope_signature(envelope: Envelope, secret: bytes) -> str:
    """The signature of `envelope` (its `signature` field left out) under `secret`."""
    return _mac(secret, canonical(envelope, {"signature"}))


def result_signature(result: TaskResult, secret: bytes) -> str:
    """The signature a remote agent attaches to the `TaskResult` it returns."""
    return _mac(secret, canonical(result))


class Keyring:
    """Per-agent secrets on disk, created on demand and read back on each use.

    Reads check the file's mode and mtime, so a key revoked or rotated by another
    process (e.g. ``mesh agents remove``) stops working here too.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[int, bytes]] = {}

    def _path(self, name: str) -> Path:
        if not _NAME_RE.match(name):
            raise InputError(
                f"agent name {name!r} is not valid for a key: use the agent's card name"
                " (lowercase letters, digits, '_', '.', '-')"
            )
        return self.folder / f"{name}.key"

    def issue(self, name: str) -> str:
        """The agent's secret (hex), created if it has none; hand it to a remote agent once."""
        path = self._path(name)
        with self._lock:
            existing = self._read(name, path)
            if existing is not None:
                return existing.hex()
            return self._write(name, path).hex()

    def rotate(self, name: str) -> str:
        """Replace the agent's secret: messages signed with the old one are refused."""
        path = self._path(name)
        with self._lock:
            return self._write(name, path).hex()

    def revoke(self, name: str) -> bool:
        """Delete the agent's secret; True if it had one."""
        path = self._path(name)
        with self._lock:
            self._cache.pop(name, None)
            try:
                path.unlink()
            except FileNotFoundError:
                return False
            return True

    def has(self, name: str) -> bool:
        return _NAME_RE.match(name) is not None and self._path(name).is_file()

    def secret(self, name: str) -> bytes | None:
        path = self._path(name)
        with self._lock:
            return self._read(name, path)

    def sign(self, envelope: Envelope, signer: str) -> Envelope:
        """`envelope` signed with `signer`'s key (issued if missing): the agent that ran.

        Only the mesh calls this, for agents running in this process; if the envelope
        claims another sender, the signature will not verify, which is the point.
        """
        secret = bytes.fromhex(self.issue(signer))
        return envelope.model_copy(update={"signature": envelope_signature(envelope, secret)})

    def verify(self, envelope: Envelope) -> tuple[bool, str]:
        """(ok, why): is `envelope` signed by the agent it names as sender?"""
        return self._check(
            envelope.sender,
            envelope.signature,
            lambda secret: envelope_signature(envelope, secret),
            "message",
        )

    def verify_result(self, result: TaskResult, signature: str, agent: str) -> tuple[bool, str]:
        """(ok, why): did `agent` sign this `result`?"""
        return self._check(
            agent, signature, lambda secret: result_signature(result, secret), "result"
        )

    def _check(
        self, sender: str, signature: str, expected: Callable[[bytes], str], what: str
    ) -> tuple[bool, str]:
        if not signature:
            return False, f"the {what} from {sender!r} is unsigned: every agent must sign"
        if not _NAME_RE.match(sender):
            return False, f"the {what} names sender {sender!r}, which is not an agent name"
        secret = self.secret(sender)
        if secret is None:
            return False, f"agent {sender!r} has no key (not registered, or its key was revoked)"
        if hmac.compare_digest(expected(secret), signature):
            return True, f"signature verified with the key of agent {sender!r}"
        return False, (
            f"the {what}'s signature does not match the key of agent {sender!r}: a forged"
            " sender or an altered message"
        )

    def _read(self, name: str, path: Path) -> bytes | None:
        try:
            info = path.stat()
        except FileNotFoundError:
            self._cache.pop(name, None)
            return None
        if info.st_mode & 0o077:
            raise ConfigError(
                f"key file {path} is readable by others (mode {stat.filemode(info.st_mode)}):"
                f" run `chmod 600 {path}`, or rotate the key if it may have leaked"
            )
        cached = self._cache.get(name)
        if cached is not None and cached[0] == info.st_mtime_ns:
            return cached[1]
        text = path.read_text().strip()
        try:
            secret = bytes.fromhex(text)
        except ValueError:
            secret = b""
        if len(secret) < 32:
            raise ConfigError(
                f"key file {path} does not hold a 256-bit hex secret: delete it and register"
                " the agent again to issue a new one"
            )
        self._cache[name] = (info.st_mtime_ns, secret)
        return secret

    def _write(self, name: str, path: Path) -> bytes:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        secret = secrets.token_bytes(32)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secret.hex().encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        self._cache[name] = (path.stat().st_mtime_ns, secret)
        return secret

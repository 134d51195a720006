"""Remote agents in a mesh: connecting one, keeping its token, and running it again
after a restart. The wire protocol and the HTTP client are in :mod:`mesh.a2a`.

A bearer token (``token=``) protects a served agent; without one, bind to loopback only.

Remote agents come back when a mesh restarts: `attach_remote_agents` (run by
`Mesh.local`) gives every registered card whose endpoint is an http(s) URL a
`RegisteredRemote` handler, without a network call and without writing the registry. A
connection's token lives in ``<home>/remote-tokens/<name>.json`` (0600), bound to the
endpoint it was given for, and goes when the agent is deregistered.
"""

from __future__ import annotations

import json
import os
import re
import stat
import threading
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from mesh.a2a import RemoteAgent, fetch_card
from mesh.errors import AgentError, ConfigError, InputError
from mesh.models import NAME_PATTERN, AgentCard, TaskRequest, TaskResult

if TYPE_CHECKING:
    from mesh.core import Mesh

TOKENS_DIR = "remote-tokens"
MAX_TOKEN_CHARS = 4096
_NAME_RE = re.compile(NAME_PATTERN)


def add_remote_agent(
    mesh: Mesh,
    url: str,
    *,
    token: str | None = None,
    name: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> AgentCard:
    """Read the agent card at `url` and add the agent to `mesh`, run over HTTP.

    Its tasks time out after the mesh's `task_timeout`; the card's endpoint is the
    agent's JSON-RPC URL, so the registry shows where the agent runs. `token` is stored
    under the mesh home so the agent still works after a restart (see `connect_card`).
    """
    if token is not None:
        check_token(token)
    card = fetch_card(url, token=token, name=name, transport=transport)
    return connect_card(mesh, card, token=token, transport=transport)


def connect_card(
    mesh: Mesh,
    card: AgentCard,
    *,
    token: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> AgentCard:
    """Register `card` (endpoint: an http(s) JSON-RPC URL) and run it here over HTTP.

    A given `token` replaces the stored one; without one, a token stored earlier for
    this agent and endpoint is kept. The card is written even if unchanged, so the
    registry gate decides on every connection; if it refuses (or the write fails), the
    stored token is left as it was.
    """
    if not is_remote(card.endpoint):
        raise InputError(
            f"agent {card.name!r} has endpoint {card.endpoint!r}: a remote agent needs the"
            " http(s) URL of its JSON-RPC endpoint"
        )
    tokens = remote_tokens(mesh)
    before = tokens.raw(card.name)
    if token is not None:
        tokens.save(card.name, card.endpoint, token)
    try:
        mesh.registry.register(card)
        return mesh.add_agent(card, RegisteredRemote(mesh, card.name, transport=transport))
    except BaseException:
        tokens.put_raw(card.name, before)
        raise


def is_remote(endpoint: str) -> bool:
    """Is `endpoint` an http(s) URL with a host, i.e. an agent served elsewhere?"""
    parts = urlsplit(endpoint)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def check_token(token: str) -> str:
    if (
        not isinstance(token, str)
        or not token
        or len(token) > MAX_TOKEN_CHARS
        or any(c.isspace() or not c.isprintable() for c in token)
    ):
        raise InputError(
            "the bearer token must be 1 to 4096 printable characters without spaces or line"
            " breaks: give the token exactly (without the newline of the file it came from)"
        )
    return token


class TokenStore:
    """Remote agents' bearer tokens, one 0600 file per agent in a 0700 folder.

    Never in the registry: any principal who may search can read a card. Each token is
    bound to the endpoint it was given for and is never sent to another address; files
    are read on each use, so a token removed or replaced by another process applies here.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._parsed: dict[Path, tuple[tuple[int, int, int], str, str]] = {}

    def path(self, name: str) -> Path:
        if not _NAME_RE.match(name):
            raise InputError(f"agent name {name!r} is not valid: use the agent's card name")
        return self.folder / f"{name}.json"

    def save(self, name: str, endpoint: str, token: str) -> None:
        doc = {"endpoint": endpoint, "token": check_token(token)}
        self.put_raw(name, json.dumps(doc).encode())

    def remove(self, name: str) -> bool:
        """Forget the agent's token; True if it had one."""
        return self.put_raw(name, None)

    def load(self, name: str, endpoint: str) -> str | None:
        """The token to send to `endpoint` for agent `name`, or None if none is stored."""
        path = self.path(name)
        try:
            info = path.stat()
        except FileNotFoundError:
            return None
        if info.st_mode & 0o077:
            raise ConfigError(
                f"token file {path} is readable by others (mode {stat.filemode(info.st_mode)}):"
                f" run `chmod 600 {path}`, and replace the token if it may have leaked"
            )
        stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
        cached = self._parsed.get(path)
        if cached is not None and cached[0] == stamp:
            stored, token = cached[1], cached[2]
        else:
            try:
                doc = json.loads(path.read_text())
                stored, token = str(doc["endpoint"]), check_token(doc["token"])
            except (OSError, ValueError, KeyError, TypeError, InputError):
                raise ConfigError(
                    f"token file {path} does not hold a stored token: delete it and connect"
                    " the agent again with add_remote_agent(m, url, token=...)"
                ) from None
            self._parsed[path] = (stamp, stored, token)
        if stored != endpoint:
            raise AgentError(
                f"the token stored for agent {name!r} was given for {stored}, but its card now"
                f" points to {endpoint}: the mesh does not send it elsewhere; connect the agent"
                " again with add_remote_agent(m, url, token=...)"
            )
        return token

    def raw(self, name: str) -> bytes | None:
        try:
            return self.path(name).read_bytes()
        except FileNotFoundError:
            return None

    def put_raw(self, name: str, data: bytes | None) -> bool:
        """Write (atomically, 0600) or with None delete the agent's file; True if one was there."""
        path = self.path(name)
        with self._lock:
            existed = path.exists()
            if data is None:
                path.unlink(missing_ok=True)
                return existed
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(self.folder, 0o700)
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            tmp.unlink(missing_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
            return existed


def remote_tokens(mesh: Mesh) -> TokenStore:
    """Where `mesh` keeps its remote agents' tokens."""
    return TokenStore(mesh.settings.home / TOKENS_DIR)


class RegisteredRemote:
    """The handler of a registered agent served elsewhere, as its card says now.

    Each call reads the card's endpoint and the stored token, so a card updated to a new
    address or a token removed (by deregistering, maybe in another process) applies at
    once; building it touches no network, so a mesh starts even if the agent is down.
    """

    def __init__(
        self, mesh: Mesh, name: str, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.name = name
        self._registry, self._tokens = mesh.registry, remote_tokens(mesh)
        self._timeout, self._transport = mesh.settings.task_timeout, transport
        self._agent: RemoteAgent | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RegisteredRemote({self.name!r})"

    def __call__(self, req: TaskRequest) -> TaskResult:
        endpoint = self._registry.get(self.name).endpoint
        if not is_remote(endpoint):
            raise AgentError(
                f"agent {self.name!r} now has endpoint {endpoint!r}, not an http(s) URL: run it"
                " here with Mesh.add_agent(card, handler) or give its card a remote endpoint"
            )
        token = self._tokens.load(self.name, endpoint)
        with self._lock:
            agent = self._agent
            if agent is None or agent.url != endpoint or agent.token != token:
                agent = self._agent = RemoteAgent(
                    endpoint,
                    name=self.name,
                    token=token,
                    timeout=self._timeout,
                    transport=self._transport,
                )
        return agent(req)


def attach_remote_agents(mesh: Mesh) -> list[str]:
    """Run here every registered agent with an http(s) endpoint that has no handler yet.

    `Mesh.local` calls this once it has added its own agents: cards registered by an
    earlier process (`add_remote_agent`, `mesh agents register`, the Marketplace) run
    again without touching the network or the registry. From then on the registry tells
    it of every stored write (a refused one never reaches it): a card with such an
    endpoint, registered here or by another process (once the registry catches up),
    gets a handler the same way, and a removed agent's stored token is deleted. Safe to
    call again; returns the names attached by this call.
    """
    follow = next((f for f in mesh.registry.listeners if isinstance(f, _Follow)), None)
    if follow is None:
        follow = _Follow(mesh)
        mesh.registry.listeners.append(follow)
    return follow([card.name for card in mesh.registry.list()])


class _Follow:
    """After a stored registry write: attach remote cards; when one is removed, stop
    running it here and forget its token."""

    def __init__(self, mesh: Mesh) -> None:
        self._mesh, self._tokens = mesh, remote_tokens(mesh)
        self._remote: set[str] = set()

    def __call__(self, names: list[str]) -> list[str]:
        attached = []
        for name in names:
            if name not in self._mesh.registry:
                self._tokens.remove(name)
                if name in self._remote:
                    self._mesh.detach_agent(name)
                    self._remote.discard(name)
            elif name not in self._mesh.agents and is_remote(
                self._mesh.registry.get(name).endpoint
            ):
                self._remote.add(name)  # a heartbeat of one that runs here changes nothing
                self._mesh.attach_agent(name, RegisteredRemote(self._mesh, name))
                attached.append(name)
        return attached


__all__ = [
    "TOKENS_DIR",
    "RegisteredRemote",
    "TokenStore",
    "add_remote_agent",
    "attach_remote_agents",
    "check_token",
    "connect_card",
    "is_remote",
    "remote_tokens",
]

"""Optional login for the UI: each user name is the Casbin principal the user acts as.

A users file has one ``name:password`` per line (``#`` starts a comment). The password
may be plain, or a hash from `hash_password` (``pbkdf2_sha256$iterations$salt$hash``),
which is what to keep on disk:

    python -c "from mesh.ui.auth import hash_password; print(hash_password('s3cret'))"

Names follow the policy's rules for a subject (no spaces or commas), so ``alice`` logs in
and every request she makes runs as ``alice`` under the policy.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Callable
from pathlib import Path

from mesh.errors import ConfigError

ITERATIONS = 240_000
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


def hash_password(password: str, *, iterations: int = ITERATIONS) -> str:
    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def _matches(stored: str, given: str) -> bool:
    if stored.startswith("pbkdf2_sha256$"):
        _, iterations, salt, digest = stored.split("$")
        computed = hashlib.pbkdf2_hmac(
            "sha256", given.encode(), bytes.fromhex(salt), int(iterations)
        )
        return hmac.compare_digest(computed.hex(), digest)
    return hmac.compare_digest(stored.encode(), given.encode())


def load_users(path: str | Path) -> dict[str, str]:
    """name → stored password from a users file; a ConfigError names each bad line."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read the users file {path}: {exc.strerror}") from None
    users: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, password = line.partition(":")
        where = f"{path}, line {number}"
        if not sep or not password:
            raise ConfigError(f"{where}: write name:password")
        if not _NAME.match(name):
            raise ConfigError(
                f"{where}: user name {name!r} is not a valid principal: letters, digits, '_', '.',"
                " '@' or '-', no spaces or commas"
            )
        if name in users:
            raise ConfigError(f"{where}: user {name!r} is listed twice")
        if password.startswith("pbkdf2_sha256$") and len(password.split("$")) != 4:
            raise ConfigError(f"{where}: the password hash of {name!r} is malformed")
        users[name] = password
    if not users:
        raise ConfigError(f"the users file {path} lists no users: add name:password lines")
    return users


def authenticator(users: dict[str, str]) -> Callable[[str, str], bool]:
    """The check Gradio calls on login; unknown users cost the same time as known ones."""
    decoy = hash_password("decoy", iterations=ITERATIONS)

    def check(username: str, password: str) -> bool:
        stored = users.get(username)
        if stored is None:
            _matches(decoy, password)
            return False
        return _matches(stored, password)

    return check

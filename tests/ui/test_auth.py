"""The login: users file parsing, hashed and plain passwords, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from mesh.errors import ConfigError
from mesh.ui.auth import authenticator, hash_password, load_users


def users_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "users.txt"
    path.write_text(text)
    return path


def test_plain_and_hashed_passwords(tmp_path: Path) -> None:
    hashed = hash_password("s3cret", iterations=1000)
    path = users_file(tmp_path, f"# team\nalice:{hashed}\nbob:plain pass\n\n")
    check = authenticator(load_users(path))
    assert check("alice", "s3cret") and not check("alice", "S3cret")
    assert check("bob", "plain pass") and not check("bob", "plain")
    assert not check("mallory", "s3cret")
    assert hashed != hash_password("s3cret", iterations=1000), "each hash has its own salt"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("alice\n", "line 1: write name:password"),
        ("al ice:pw\n", "'al ice' is not a valid principal"),
        ("a,b:pw\n", "'a,b' is not a valid principal"),
        ("alice:pw\nalice:pw2\n", "line 2: user 'alice' is listed twice"),
        ("alice:pbkdf2_sha256$1$ab\n", "password hash of 'alice' is malformed"),
        ("# nobody\n", "lists no users"),
    ],
)
def test_bad_users_files_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_users(users_file(tmp_path, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the users file"):
        load_users(tmp_path / "nope.txt")

"""Agent identity: per-agent secrets on disk, HMAC over envelopes and results, principals."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from mesh import ConfigError, InputError
from mesh.identity import (
    Keyring,
    acting_as,
    acting_principal,
    check_user,
    envelope_signature,
    principal_problem,
    result_signature,
    run_as,
)
from mesh.models import Envelope, TaskResult


@pytest.fixture
def keys(tmp_path: Path) -> Keyring:
    return Keyring(tmp_path / "keys")


def _envelope(sender: str = "report") -> Envelope:
    return Envelope(
        id="t1#0",
        topic="agent:calculator",
        sender=sender,
        recipient="calculator",
        kind="request",
        payload={"text": "1200 + 450", "inputs": {}},
        task_id="t1",
    )


def test_secrets_are_private_files_outside_the_registry(keys: Keyring) -> None:
    secret = keys.issue("report")
    path = keys.folder / "report.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(keys.folder.stat().st_mode) == 0o700
    assert len(bytes.fromhex(secret)) == 32
    assert keys.issue("report") == secret, "issuing again keeps the agent's key"
    assert keys.issue("calculator") != secret


def test_a_signed_envelope_verifies_and_any_change_breaks_it(keys: Keyring) -> None:
    signed = keys.sign(_envelope(), "report")
    assert signed.signature.startswith("hmac-sha256:")
    assert keys.verify(signed) == (True, "signature verified with the key of agent 'report'")
    for change in (
        {"payload": {"text": "rm -rf /", "inputs": {}}},
        {"recipient": "admin"},
        {"topic": "agent:admin"},
        {"kind": "publish"},
    ):
        ok, why = keys.verify(signed.model_copy(update=change))
        assert not ok and "does not match" in why, change


def test_a_forged_sender_is_refused(keys: Keyring) -> None:
    keys.issue("admin")
    forged = keys.sign(_envelope(sender="admin"), "report")  # report signs, claims admin
    ok, why = keys.verify(forged)
    assert not ok
    assert "does not match the key of agent 'admin'" in why


def test_unsigned_unknown_and_malformed_senders_are_refused(keys: Keyring) -> None:
    keys.issue("report")
    assert keys.verify(_envelope()) == (
        False,
        "the message from 'report' is unsigned: every agent must sign",
    )
    ghost = _envelope(sender="ghost").model_copy(update={"signature": "hmac-sha256:00"})
    ok, why = keys.verify(ghost)
    assert not ok and "has no key" in why
    bad = _envelope(sender="../report").model_copy(update={"signature": "hmac-sha256:00"})
    ok, why = keys.verify(bad)
    assert not ok and "not an agent name" in why


def test_rotation_and_revocation_invalidate_old_signatures(keys: Keyring) -> None:
    signed = keys.sign(_envelope(), "report")
    keys.rotate("report")
    assert not keys.verify(signed)[0]
    resigned = keys.sign(_envelope(), "report")
    assert keys.verify(resigned)[0]
    assert keys.revoke("report")
    assert not keys.revoke("report")
    ok, why = keys.verify(resigned)
    assert not ok and "has no key" in why


def test_a_revocation_by_another_process_is_seen(keys: Keyring) -> None:
    signed = keys.sign(_envelope(), "report")
    assert keys.verify(signed)[0]
    (keys.folder / "report.key").unlink()  # e.g. `mesh agents remove` elsewhere
    assert not keys.verify(signed)[0]


def test_a_remote_agent_signs_with_the_secret_it_was_given(keys: Keyring) -> None:
    secret = bytes.fromhex(keys.issue("weather"))
    envelope = _envelope(sender="weather")
    envelope.signature = envelope_signature(envelope, secret)
    assert keys.verify(envelope)[0]
    result = TaskResult(task_id="t1", status="succeeded", output="Sunny", agent="weather")
    signature = result_signature(result, secret)
    assert keys.verify_result(result, signature, "weather")[0]
    tampered = result.model_copy(update={"output": "Stormy"})
    assert not keys.verify_result(tampered, signature, "weather")[0]
    assert not keys.verify_result(result, signature, "calculator")[0]
    assert not keys.verify_result(result, "", "weather")[0]


def test_key_names_cannot_escape_the_folder(keys: Keyring, tmp_path: Path) -> None:
    for name in ("../evil", "a/b", "", "UPPER", ".hidden"):
        with pytest.raises(InputError, match="not valid for a key"):
            keys.issue(name)
    assert not (tmp_path / "evil.key").exists()
    assert not keys.folder.exists() or list(keys.folder.iterdir()) == []


def test_a_key_readable_by_others_is_refused_not_used(keys: Keyring) -> None:
    keys.issue("report")
    path = keys.folder / "report.key"
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match=r"readable by others .*chmod 600"):
        keys.secret("report")


def test_a_corrupt_key_file_is_a_clear_error(keys: Keyring) -> None:
    keys.issue("report")
    path = keys.folder / "report.key"
    path.write_text("not hex")
    with pytest.raises(ConfigError, match="256-bit hex secret"):
        keys.secret("report")


@pytest.mark.parametrize(
    ("subject", "ok"),
    [
        ("alice", True),
        ("alice@example.com", True),
        ("agent:calculator", True),
        ("mesh:orchestrator", True),
        ("role:owner", False),
        ("group:everyday", False),
        ("agent:*", False),
        ("*", False),
        ("agent:../x", False),
        ("alice bob", False),
        ("", False),
    ],
)
def test_principals(subject: str, ok: bool) -> None:
    assert (principal_problem(subject) is None) is ok


@pytest.mark.parametrize("name", ["role:owner", "agent:admin", "mesh:orchestrator", "*", " x"])
def test_users_cannot_pose_as_agents_roles_or_patterns(name: str) -> None:
    with pytest.raises(InputError, match="not a valid principal"):
        check_user(name)
    assert check_user("alice") == "alice"


def test_acting_as_is_scoped_and_follows_the_call(keys: Keyring) -> None:
    assert acting_principal() is None
    with acting_as("alice"):
        assert acting_principal() == "alice"
        assert run_as("agent:report", acting_principal)() == "agent:report"
        assert acting_principal() == "alice"
    assert acting_principal() is None
    with pytest.raises(InputError, match="role or group"), acting_as("role:owner"):
        pass

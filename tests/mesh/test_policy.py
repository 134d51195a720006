"""The Casbin gate on real files: defaults, deny by default, deny-override, reloads."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from mesh import ConfigError
from mesh.policy import Policy


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    return Policy.at(tmp_path / "policy")


def test_defaults_are_written_on_first_start_and_kept_after(tmp_path: Path) -> None:
    folder = tmp_path / "policy"
    Policy.at(folder)
    assert (folder / "model.conf").read_text().startswith("# Agentic Mesh access model")
    (folder / "policy.csv").write_text("p, bob, agent:x, dispatch, allow\n")
    again = Policy.at(folder)
    assert again.check("bob", "agent:x", "dispatch").allowed
    assert not again.check("local", "agent:x", "dispatch").allowed


def test_owner_may_dispatch_and_strangers_are_denied_by_default(policy: Policy) -> None:
    assert policy.check("local", "agent:calculator", "dispatch").allowed
    denied = policy.check("stranger", "agent:calculator", "dispatch")
    assert not denied.allowed
    assert "deny by default" in denied.reason


def test_explicit_deny_overrides_allow(policy: Policy) -> None:
    policy.allow("alice", "agent:*", "dispatch")
    assert policy.check("alice", "agent:admin", "dispatch").allowed
    policy.deny("alice", "agent:admin", "dispatch")
    decision = policy.check("alice", "agent:admin", "dispatch")
    assert not decision.allowed
    assert "deny" in decision.reason
    assert policy.check("alice", "agent:calculator", "dispatch").allowed


def test_roles_grant_their_rules(policy: Policy) -> None:
    policy.add_role("carol", "role:owner")
    assert policy.check("carol", "agent:text", "dispatch").allowed


def test_edit_on_disk_is_picked_up(policy: Policy) -> None:
    assert not policy.check("dave", "agent:text", "dispatch").allowed
    with policy.policy_path.open("a") as f:
        f.write("p, dave, agent:text, dispatch, allow\n")
    stamp = time.time() + 5
    os.utime(policy.policy_path, (stamp, stamp))
    policy._next_reload_check = 0  # skip the once-a-second throttle
    assert policy.check("dave", "agent:text", "dispatch").allowed


def test_missing_model_file_is_a_clear_error_not_a_silent_default(tmp_path: Path) -> None:
    folder = tmp_path / "policy"
    Policy.at(folder)
    (folder / "model.conf").unlink()
    with pytest.raises(ConfigError, match=r"model file .* is missing"):
        Policy.at(folder)
    assert not (folder / "model.conf").exists()


def test_broken_model_file_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "policy"
    Policy.at(folder)
    (folder / "model.conf").write_text("[matchers]\nm = nonsense(\n")
    with pytest.raises(ConfigError, match=r"model\.conf"):
        Policy.at(folder)


@pytest.mark.parametrize("bad", ["", " alice", "a,b"])
def test_rules_with_bad_fields_are_refused_and_not_written(policy: Policy, bad: str) -> None:
    before = policy.policy_path.read_text()
    with pytest.raises(ConfigError, match="not valid"):
        policy.allow(bad, "agent:x", "dispatch")
    assert policy.policy_path.read_text() == before

"""The Casbin gate on real files: defaults, deny by default, deny-override, reloads."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import casbin
import pytest

from mesh import ConfigError
from mesh.cli import main
from mesh.policy import Policy, self_match


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


def test_a_decision_names_the_rule_and_the_role_that_granted_it(policy: Policy) -> None:
    decision = policy.check("local", "agent:calculator", "dispatch")
    assert decision.rules == ["p, role:owner, agent:*, dispatch, allow"]
    assert decision.reason == (
        "allowed by 'p, role:owner, agent:*, dispatch, allow' (local has role:owner)"
    )
    policy.add_role("bob", "role:user")
    grouped = policy.check("bob", "agent:calculator", "dispatch")
    assert grouped.allowed
    assert "bob has role:user; agent:calculator is in group:everyday" in grouped.reason
    assert not policy.check("bob", "agent:report", "dispatch").allowed


def test_a_deny_override_names_both_rules(policy: Policy) -> None:
    policy.add_role("alice", "role:owner")
    policy.deny("alice", "agent:admin", "dispatch")
    decision = policy.check("alice", "agent:admin", "dispatch")
    assert not decision.allowed
    assert decision.reason == (
        "denied by 'p, alice, agent:admin, dispatch, deny' (a deny overrides the allow of"
        " 'p, role:owner, agent:*, dispatch, allow')"
    )
    assert set(decision.rules) == {
        "p, alice, agent:admin, dispatch, deny",
        "p, role:owner, agent:*, dispatch, allow",
    }


def test_an_agent_may_update_its_own_card_only(policy: Policy) -> None:
    own = policy.check("agent:weather", "registry:weather", "update")
    assert own.allowed and "registry:{self}" in own.reason
    assert not policy.check("agent:weather", "registry:calculator", "update").allowed
    assert not policy.check("agent:weather", "registry:weather", "remove").allowed
    assert not policy.check("agent:weather", "registry:weatherman", "update").allowed
    assert not policy.check("weather", "registry:weather", "update").allowed


def test_roles_and_patterns_cannot_act_as_principals(policy: Policy) -> None:
    for subject in ("role:owner", "group:everyday", "agent:*", "*"):
        decision = policy.check(subject, "agent:calculator", "dispatch")
        assert not decision.allowed, subject
        assert "principal" in decision.reason


def test_edits_keep_comments_and_lines_written_by_hand(policy: Policy) -> None:
    with policy.policy_path.open("a") as f:
        f.write("# hand-written\np, erin, agent:text, dispatch, allow\n")
    assert policy.allow("alice", "agent:text", "dispatch")
    assert not policy.allow("alice", "agent:text", "dispatch"), "the same rule twice is a no-op"
    text = policy.policy_path.read_text()
    assert "# The local owner" in text and "# hand-written" in text
    assert text.count("p, alice, agent:text, dispatch, allow") == 1
    assert policy.check("erin", "agent:text", "dispatch").allowed
    assert policy.remove("alice", "agent:text", "dispatch")
    assert not policy.remove("alice", "agent:text", "dispatch")
    assert not policy.check("alice", "agent:text", "dispatch").allowed
    assert "p, erin, agent:text, dispatch, allow" in policy.rules()


def test_every_change_clears_the_decision_cache_and_tells_listeners(policy: Policy) -> None:
    calls: list[int] = []
    policy.on_change(lambda: calls.append(1))
    assert not policy.check("zoe", "agent:text", "dispatch").allowed
    policy.allow("zoe", "agent:text", "dispatch")
    assert policy.check("zoe", "agent:text", "dispatch").allowed
    policy.add_role("zoe", "role:user")
    policy.remove_role("zoe", "role:user")
    assert len(calls) == 3


@pytest.mark.parametrize(
    "bad",
    ["alice\np, mallory, agent:*, dispatch, allow", "alice#x", "ali'ce", "a b", "alice\t"],
)
def test_no_value_can_smuggle_a_line_into_the_policy_file(policy: Policy, bad: str) -> None:
    before = policy.policy_path.read_text()
    with pytest.raises(ConfigError, match="not valid"):
        policy.allow(bad, "agent:text", "dispatch")
    with pytest.raises(ConfigError, match="not valid"):
        policy.add_role(bad, "role:owner")
    assert policy.policy_path.read_text() == before
    assert not policy.check("mallory", "agent:text", "dispatch").allowed


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("P, alice, agent:*, dispatch, allow", "unknown rule type 'P'"),
        ("p, alice, agent:*, dispatch", "needs 4 non-empty fields"),
        ("p, alice, agent:*, dispatch, alow", "effect must be allow or deny"),
        ("g, alice", "needs 2 non-empty fields"),
        ("p, , agent:*, dispatch, allow", "needs 4 non-empty fields"),
    ],
)
def test_a_malformed_line_is_refused_by_number_not_skipped(
    tmp_path: Path, line: str, problem: str
) -> None:
    folder = tmp_path / "policy"
    Policy.at(folder)
    with (folder / "policy.csv").open("a") as f:
        f.write(line + "\n")
    lines = (folder / "policy.csv").read_text().count("\n")
    with pytest.raises(ConfigError, match=rf"line {lines} .*{problem}"):
        Policy.at(folder)


def test_a_broken_edit_on_disk_denies_everything_until_fixed(policy: Policy) -> None:
    assert policy.check("local", "agent:text", "dispatch").allowed
    good = policy.policy_path.read_text()
    policy.policy_path.write_text(good + "p, local, agent:*, dispatch\n")
    policy._next_reload_check = 0
    decision = policy.check("local", "agent:text", "dispatch")
    assert not decision.allowed
    assert "failed to load" in decision.reason and "line" in decision.reason
    policy.policy_path.write_text(good + "p, dora, agent:text, dispatch, allow\n")
    policy._next_reload_check = 0
    assert policy.check("local", "agent:text", "dispatch").allowed
    assert policy.check("dora", "agent:text", "dispatch").allowed


def test_an_api_edit_on_top_of_a_broken_file_is_refused_and_rolled_back(policy: Policy) -> None:
    broken = policy.policy_path.read_text() + "x, nonsense\n"
    policy.policy_path.write_text(broken)
    with pytest.raises(ConfigError, match="unknown rule type 'x'"):
        policy.allow("alice", "agent:text", "dispatch")
    assert policy.policy_path.read_text() == broken


def test_discovery_filter_keeps_each_decision_for_the_audit(policy: Policy) -> None:
    policy.allow("alice", "agent:text", "dispatch")
    engage = policy.engageable("alice", {"text", "calculator"})
    assert "text" in engage
    assert "calculator" not in engage
    assert "ghost" not in engage, "not runnable here: no decision needed"
    assert {n: d.action for n, d in engage.decisions.items()} == {
        "text": "discover",
        "calculator": "discover",
    }
    assert "policy denied 'alice' dispatch to 'calculator'" in (engage.refusal() or "")


def test_decisions_agree_with_casbin_on_a_random_policy(tmp_path: Path) -> None:
    """The gate's one-pass evaluation (which also lists matches) decides as Casbin does."""
    rng = random.Random(5)
    folder = tmp_path / "policy"
    Policy.at(folder)
    users, agents = [f"u{i}" for i in range(12)], [f"a{i}" for i in range(15)]
    lines = [(folder / "policy.csv").read_text()]
    for _ in range(150):
        sub = rng.choice([*users, "role:r1", "role:r2", "role:r3", "agent:*", "agent:a1"])
        obj = rng.choice(
            [f"agent:{rng.choice(agents)}", "agent:a1*", "group:g1", "registry:{self}", "agent:*"]
        )
        act = rng.choice(["dispatch", "request", "update", "*"])
        lines.append(f"p, {sub}, {obj}, {act}, {rng.choice(['allow'] * 4 + ['deny'])}\n")
    lines += [f"g, {u}, role:r{rng.randrange(1, 4)}\n" for u in users]
    lines += ["g, role:r1, role:r2\n", "g2, agent:a3, group:g1\n", "g2, agent:a4, group:g1\n"]
    (folder / "policy.csv").write_text("".join(lines))
    policy = Policy.at(folder)
    casbin_itself = casbin.Enforcer(str(folder / "model.conf"), str(folder / "policy.csv"))
    casbin_itself.add_function("selfMatch", self_match)
    outcomes = set()
    for _ in range(600):
        sub = rng.choice([*users, "local", f"agent:{rng.choice(agents)}"])
        obj = rng.choice([f"agent:{rng.choice(agents)}", f"registry:{rng.choice(agents)}"])
        act = rng.choice(["dispatch", "request", "update"])
        decision = policy.check(sub, obj, act)
        assert decision.allowed == casbin_itself.enforce(sub, obj, act), (sub, obj, act)
        assert bool(decision.rules) or not decision.allowed
        outcomes.add(decision.allowed)
    assert outcomes == {True, False}


def test_cli_check_add_remove(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = ["--home", str(tmp_path)]
    assert main([*home, "policy", "check", "local", "agent:text", "dispatch"]) == 0
    assert capsys.readouterr().out.strip() == (
        "allow: allowed by 'p, role:owner, agent:*, dispatch, allow' (local has role:owner)"
    )
    assert main([*home, "policy", "check", "ivy", "agent:text", "dispatch"]) == 1
    assert "deny by default" in capsys.readouterr().out
    assert main([*home, "policy", "add", "ivy", "agent:text", "dispatch"]) == 0
    assert capsys.readouterr().out.strip() == "added p, ivy, agent:text, dispatch, allow"
    assert main([*home, "policy", "add", "ivy", "agent:text", "dispatch"]) == 0
    assert capsys.readouterr().out.startswith("already there")
    assert main([*home, "policy", "add", "ivy", "agent:text", "dispatch", "--effect", "deny"]) == 0
    assert main([*home, "policy", "check", "ivy", "agent:text", "dispatch"]) == 1
    assert "deny: denied by 'p, ivy, agent:text, dispatch, deny'" in capsys.readouterr().out
    assert (
        main([*home, "policy", "remove", "ivy", "agent:text", "dispatch", "--effect", "deny"]) == 0
    )
    assert main([*home, "policy", "check", "ivy", "agent:text", "dispatch"]) == 0
    capsys.readouterr()
    assert main([*home, "policy", "remove", "ivy", "agent:nope", "dispatch"]) == 2
    assert "nothing was removed" in capsys.readouterr().err
    assert not (tmp_path / "audit.sqlite").exists(), "checking the policy starts no mesh"

"""Policy and security: a Casbin gate on every edge, deny by default.

The enforcer answers "may SUBJECT do ACTION on OBJECT?" from a model file and a policy
file under the mesh home, both written from the shipped defaults on first start and
reloaded when they change on disk. Decisions are cached (Casbin scans every policy line
per check) and the cache is dropped whenever the policy changes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import casbin

from mesh.errors import ConfigError
from mesh.models import Decision

RELOAD_CHECK_SECONDS = 1.0


def write_defaults(policy_dir: Path) -> None:
    """Write the shipped model and policy on first start; never overwrite user edits.

    A policy folder that holds a policy but lost its model is an error, not a first start:
    regenerating the model silently could change what the policy means.
    """
    policy_dir.mkdir(parents=True, exist_ok=True)
    model, policy = policy_dir / "model.conf", policy_dir / "policy.csv"
    if policy.exists() and not model.exists():
        raise ConfigError(
            f"policy model file {model} is missing while {policy} exists: restore model.conf,"
            f" or delete {policy_dir} to start again from the default policy"
        )
    defaults = resources.files("mesh") / "policy_defaults"
    for path in (model, policy):
        if not path.exists():
            path.write_text((defaults / path.name).read_text())


class Policy:
    """The Casbin gate. `check` is the hot path; `allow`/`deny`/`add_role` persist."""

    def __init__(self, model_path: Path, policy_path: Path) -> None:
        for path in (model_path, policy_path):
            if not path.is_file():
                raise ConfigError(
                    f"policy file {path} does not exist: create it, or delete its folder to"
                    " have the mesh write the defaults"
                )
        self.model_path, self.policy_path = model_path, policy_path
        self._lock = threading.RLock()
        self._cache: dict[tuple[str, str, str], Decision] = {}
        self._listeners: list[Callable[[], None]] = []
        self._load()

    @classmethod
    def at(cls, policy_dir: Path) -> Policy:
        write_defaults(policy_dir)
        return cls(policy_dir / "model.conf", policy_dir / "policy.csv")

    def _load(self) -> None:
        try:
            enforcer = casbin.Enforcer(str(self.model_path), str(self.policy_path))
        except Exception as exc:
            raise ConfigError(
                f"cannot load the policy ({self.model_path}, {self.policy_path}): {exc}."
                " Fix the file or delete the policy folder to restore the defaults"
            ) from exc
        with self._lock:
            self._enforcer = enforcer
            self._stamp = self._file_stamp()
            self._next_reload_check = time.monotonic() + RELOAD_CHECK_SECONDS
            self._changed()

    def _file_stamp(self) -> tuple[float, float]:
        return (self.model_path.stat().st_mtime_ns, self.policy_path.stat().st_mtime_ns)

    def _changed(self) -> None:
        self._cache.clear()
        for listener in self._listeners:
            listener()

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call `listener` whenever the policy changes (e.g. to drop derived caches)."""
        self._listeners.append(listener)

    def _reload_if_edited(self) -> None:
        now = time.monotonic()
        if now < self._next_reload_check:
            return
        self._next_reload_check = now + RELOAD_CHECK_SECONDS
        if self._file_stamp() != self._stamp:
            self._load()

    def check(self, subject: str, obj: str, action: str) -> Decision:
        """Decide, saying which rule matched (or that none did: denied by default)."""
        key = (subject, obj, action)
        self._reload_if_edited()
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        with self._lock:
            allowed, rules = self._enforcer.enforce_ex(subject, obj, action)
        if rules:
            reason = "matched " + ", ".join(str(r) for r in rules)
        elif allowed:
            reason = "an allow rule matched and no deny rule did"
        else:
            reason = "no rule allows it (deny by default)"
        decision = Decision(
            allowed=bool(allowed), subject=subject, obj=obj, action=action, reason=reason
        )
        self._cache[key] = decision
        return decision

    def allow(self, subject: str, obj: str, action: str) -> None:
        self._add_rule(subject, obj, action, "allow")

    def deny(self, subject: str, obj: str, action: str) -> None:
        self._add_rule(subject, obj, action, "deny")

    def remove(self, subject: str, obj: str, action: str, effect: str = "allow") -> bool:
        with self._lock:
            removed = bool(self._enforcer.remove_policy(subject, obj, action, effect))
            self._persist()
        return removed

    def add_role(self, principal: str, role: str) -> None:
        with self._lock:
            self._enforcer.add_grouping_policy(principal, role)
            self._persist()

    def add_to_group(self, obj: str, group: str) -> None:
        """Put a resource (e.g. ``agent:weather``) in a group that rules can name."""
        with self._lock:
            self._enforcer.add_named_grouping_policy("g2", obj, group)
            self._persist()

    def _add_rule(self, subject: str, obj: str, action: str, effect: str) -> None:
        for name, value in (("subject", subject), ("object", obj), ("action", action)):
            if not value or "," in value or value != value.strip():
                raise ConfigError(
                    f"policy {name} {value!r} is not valid: give a non-empty value without"
                    " commas or surrounding spaces"
                )
        with self._lock:
            self._enforcer.add_policy(subject, obj, action, effect)
            self._persist()

    def _persist(self) -> None:
        self._enforcer.save_policy()
        self._stamp = self._file_stamp()
        self._changed()

"""Policy and security: a Casbin gate on every edge, deny by default.

The enforcer answers "may SUBJECT do ACTION on OBJECT?" from a model file and a policy
file under the mesh home, both written from the shipped defaults on first start and
reloaded when they change on disk. Every decision names the policy lines that made it.
Decisions are cached (Casbin scans every policy line per check) and the cache is dropped
whenever the policy changes. The gate never sees a prompt: it decides on principals,
objects and actions only, so no text an agent or a user writes can talk it round.

Principals: users are plain names (``alice``), agents are ``agent:<card name>``, the
mesh itself is ``mesh:orchestrator`` (it registers the built-in agents and nothing
else). Roles (``role:…``, granted with ``g``) and resource groups (``group:…``, with
``g2``) name sets of principals and objects; they never act themselves.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Container
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import casbin
from casbin.core_enforcer import CoreEnforcer
from casbin.effect import Effector, effect_to_bool
from casbin.util import generate_g_function, key_match

from mesh.errors import ConfigError
from mesh.identity import Keyring, principal_problem
from mesh.models import Decision, Envelope

if TYPE_CHECKING:
    from mesh.gates import Engageable

log = logging.getLogger(__name__)

RELOAD_CHECK_SECONDS = 1.0
CACHE_LIMIT = 100_000
EFFECTS = ("allow", "deny")
_EFFECTS = {"allow": Effector.ALLOW, "deny": Effector.DENY}


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


def self_match(subject: str, obj: str, pattern: str) -> bool:
    """``registry:{self}`` in a rule means the subject's own name: an agent's own card."""
    if "{self}" not in pattern:
        return False
    own = subject.removeprefix("agent:")
    return bool(key_match(obj, pattern.replace("{self}", own)))


def split_line(line: str) -> list[str]:
    """A policy line's fields, as Casbin's file adapter reads them."""
    return [field.strip() for field in line.split(",")]


class Policy:
    """The Casbin gate. `check` is the hot path; `allow`/`deny`/`add_role` persist."""

    def __init__(self, model_path: Path, policy_path: Path, keyring: Keyring | None = None) -> None:
        for path in (model_path, policy_path):
            if not path.is_file():
                raise ConfigError(
                    f"policy file {path} does not exist: create it, or delete its folder to"
                    " have the mesh write the defaults"
                )
        self.model_path, self.policy_path = model_path, policy_path
        self.identity = keyring or Keyring(policy_path.parent.parent / "keys")
        self._lock = threading.RLock()
        self._cache: dict[tuple[str, str, str], Decision] = {}
        self._listeners: list[Callable[[], None]] = []
        self._broken: str | None = None
        self._load()

    @classmethod
    def at(cls, policy_dir: Path, keys_dir: Path | None = None) -> Policy:
        """The policy under `policy_dir` (defaults written on first start); keys beside it."""
        write_defaults(policy_dir)
        keyring = Keyring(keys_dir or policy_dir.parent / "keys")
        return cls(policy_dir / "model.conf", policy_dir / "policy.csv", keyring)

    # loading

    def _load(self) -> None:
        stamp = self._file_stamp()  # before reading: an edit made meanwhile reloads again
        try:
            self._validate(CoreEnforcer.new_model(str(self.model_path)))
            enforcer = casbin.Enforcer(str(self.model_path), str(self.policy_path))
            enforcer.add_function("selfMatch", self_match)
        except ConfigError:
            raise
        except Exception as exc:
            raise ConfigError(
                f"cannot load the policy ({self.model_path}, {self.policy_path}): {exc}."
                " Fix the file or delete the policy folder to restore the defaults"
            ) from exc
        with self._lock:
            self._enforcer = enforcer
            self._matcher = _compile_matcher(enforcer)
            self._broken = None
            self._stamp = stamp
            self._next_reload_check = time.monotonic() + RELOAD_CHECK_SECONDS
            self._changed()

    def _validate(self, casbin_model: Any) -> None:
        """Refuse lines Casbin would silently skip or mis-read: unknown types, wrong sizes."""
        model = casbin_model.model
        sizes = {key: len(ast.tokens) for key, ast in model["p"].items()}
        sizes |= {key: ast.value.count("_") for key, ast in model.get("g", {}).items()}
        lines = self.policy_path.read_text().splitlines()
        for number, raw in enumerate(lines, start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            key, *fields = split_line(line)
            where = f"{self.policy_path}, line {number} ({line!r})"
            if key not in sizes:
                raise ConfigError(f"{where}: unknown rule type {key!r}; use one of {sorted(sizes)}")
            if len(fields) != sizes[key] or not all(fields):
                raise ConfigError(
                    f"{where}: a {key!r} line needs {sizes[key]} non-empty fields,"
                    f" it has {len(fields)}"
                )
            effect = key in model["p"] and f"{key}_eft" in model["p"][key].tokens
            if effect and fields[-1] not in EFFECTS:
                raise ConfigError(f"{where}: the effect must be allow or deny")

    def _file_stamp(self) -> tuple[tuple[int, int, int], ...]:
        stats = (self.model_path.stat(), self.policy_path.stat())
        return tuple((s.st_mtime_ns, s.st_size, s.st_ino) for s in stats)

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
        try:
            stamp = self._file_stamp()
        except OSError as exc:
            self._fail(f"a policy file is unreadable: {exc}")
            return
        if stamp == self._stamp:
            return
        try:
            self._load()
        except ConfigError as exc:
            self._stamp = stamp
            self._fail(str(exc))

    def _fail(self, problem: str) -> None:
        """An edit broke the policy: deny everything, saying why, until it is fixed."""
        log.error("policy reload failed, every request is denied until fixed: %s", problem)
        with self._lock:
            self._broken = problem
            self._changed()

    # deciding

    def check(self, subject: str, obj: str, action: str) -> Decision:
        """Decide, naming the rules that matched (or that none did: denied by default)."""
        self._reload_if_edited()
        key = (subject, obj, action)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        with self._lock:
            decision = self._decide(subject, obj, action)
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = decision
        return decision

    def _decide(self, subject: str, obj: str, action: str) -> Decision:
        def deny(reason: str) -> Decision:
            return Decision(allowed=False, subject=subject, obj=obj, action=action, reason=reason)

        if self._broken is not None:
            return deny(f"the policy failed to load, so everything is denied: {self._broken}")
        problem = principal_problem(subject)
        if problem:
            return deny(problem)
        allowed, matched = self._evaluate(subject, obj, action)
        rules = [", ".join(["p", *rule]) for rule in matched]
        allows = [r for r, rule in zip(rules, matched, strict=True) if rule[-1] == "allow"]
        denies = [r for r, rule in zip(rules, matched, strict=True) if rule[-1] == "deny"]
        if allowed:
            via = self._via(subject, obj, matched[rules.index(allows[0])]) if allows else ""
            reason = f"allowed by '{allows[0]}'{via}" if allows else "allowed by the model"
        elif denies:
            reason = f"denied by '{denies[0]}'"
            if allows:
                reason += f" (a deny overrides the allow of '{allows[0]}')"
        else:
            reason = f"no rule lets {subject} {action} {obj} (deny by default)"
        return Decision(
            allowed=allowed, subject=subject, obj=obj, action=action, reason=reason, rules=rules
        )

    def _evaluate(self, subject: str, obj: str, action: str) -> tuple[bool, list[list[str]]]:
        """Casbin's enforce loop, run once, also listing every rule that matched.

        The decision follows Casbin exactly (its effector, including where it would stop
        early); the full list of matches is what `mesh policy check` explains with.
        """
        expression, r_tokens, p_tokens = self._matcher
        effector = self._enforcer.eft
        eft_at = p_tokens.index("p_eft") if "p_eft" in p_tokens else None
        request = dict(zip(r_tokens, (subject, obj, action), strict=True))
        effects: set[int] = set()
        decided: set[int] | None = None
        matched: list[list[str]] = []
        for rule in self._enforcer.model.model["p"]["p"].policy:
            if not expression.eval({**request, **dict(zip(p_tokens, rule, strict=True))}):
                effects.add(Effector.INDETERMINATE)
                continue
            matched.append(rule)
            eft = rule[eft_at] if eft_at is not None else "allow"
            effects.add(_EFFECTS.get(eft, Effector.INDETERMINATE))
            if decided is None and effector.intermediate_effect(effects) != Effector.INDETERMINATE:
                decided = set(effects)
        final = effector.final_effect(decided if decided is not None else effects)
        return bool(effect_to_bool(final)), matched

    def _via(self, subject: str, obj: str, rule: list[str]) -> str:
        notes = []
        if rule[0] != subject and not key_match(subject, rule[0]):
            notes.append(f"{subject} has {rule[0]}")
        if rule[1] != obj and not key_match(obj, rule[1]) and "{self}" not in rule[1]:
            notes.append(f"{obj} is in {rule[1]}")
        return f" ({'; '.join(notes)})" if notes else ""

    def authenticate(self, envelope: Envelope) -> Decision:
        """Is `envelope` signed by the agent it names as sender? (see `mesh.identity`)"""
        ok, reason = self.identity.verify(envelope)
        return Decision(
            allowed=ok,
            subject=f"agent:{envelope.sender}",
            obj=f"message:{envelope.id}",
            action="authenticate",
            reason=reason,
        )

    def engageable(self, principal: str, runnable: Container[str]) -> Engageable:
        from mesh.gates import Engageable

        return Engageable(self, principal, runnable)

    def may_dispatch(self, principal: str, agent: str) -> bool:
        """May `principal` dispatch to `agent`? Undecided here is no (cached, not audited)."""
        return self.check(principal, f"agent:{agent}", "dispatch").allowed

    # editing (the file is the source of truth: edits keep its comments and others' lines)

    def rules(self) -> list[str]:
        """The policy lines in force, as written in the file."""
        return [
            line.strip()
            for line in self.policy_path.read_text().splitlines()
            if line.strip() and not line.strip().startswith("#")
        ]

    def allow(self, subject: str, obj: str, action: str) -> bool:
        return self._add(["p", subject, obj, action, "allow"])

    def deny(self, subject: str, obj: str, action: str) -> bool:
        return self._add(["p", subject, obj, action, "deny"])

    def remove(self, subject: str, obj: str, action: str, effect: str = "allow") -> bool:
        return self._remove(["p", subject, obj, action, effect])

    def add_role(self, principal: str, role: str) -> bool:
        return self._add(["g", principal, role])

    def remove_role(self, principal: str, role: str) -> bool:
        return self._remove(["g", principal, role])

    def add_to_group(self, obj: str, group: str) -> bool:
        """Put a resource (e.g. ``agent:weather``) in a group that rules can name."""
        return self._add(["g2", obj, group])

    def _add(self, fields: list[str]) -> bool:
        _check_fields(fields)
        with self._lock:
            text = self.policy_path.read_text()
            if fields in _parsed(text):
                return False
            sep = "" if not text or text.endswith("\n") else "\n"
            self._write(text + sep + ", ".join(fields) + "\n", text)
        return True

    def _remove(self, fields: list[str]) -> bool:
        _check_fields(fields)
        with self._lock:
            text = self.policy_path.read_text()
            lines = text.splitlines(keepends=True)
            kept = [ln for ln in lines if _fields(ln) != fields]
            if len(kept) == len(lines):
                return False
            self._write("".join(kept), text)
        return True

    def _write(self, text: str, previous: str) -> None:
        """Replace the policy file atomically; if the result does not load, put it back."""
        tmp = self.policy_path.with_name(f".{self.policy_path.name}.{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, self.policy_path)
        try:
            self._load()
        except ConfigError:
            tmp.write_text(previous)
            os.replace(tmp, self.policy_path)
            self._load()
            raise


def _compile_matcher(enforcer: casbin.Enforcer) -> tuple[Any, list[str], list[str]]:
    """The model's matcher as Casbin evaluates it, to list every rule that matches."""
    model = enforcer.model.model
    functions = enforcer.fm.get_functions()
    for key, ast in model.get("g", {}).items():
        functions[key] = generate_g_function(ast.rm)
    expression = CoreEnforcer._get_expression(model["m"]["m"].value, functions)
    return expression, list(model["r"]["r"].tokens), list(model["p"]["p"].tokens)


def _check_fields(fields: list[str]) -> None:
    for value in fields[1:]:
        if (
            not value
            or value != value.strip()
            or any(c in value for c in ",#\"'")
            or any(not c.isprintable() or c.isspace() for c in value)
        ):
            raise ConfigError(
                f"policy value {value!r} is not valid: give a non-empty value without commas,"
                " quotes, '#', spaces or control characters"
            )


def _fields(line: str) -> list[str] | None:
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return None
    return split_line(stripped)


def _parsed(text: str) -> list[list[str]]:
    return [f for f in map(_fields, text.splitlines()) if f is not None]

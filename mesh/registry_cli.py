"""`mesh agents ...`: the registry from the command line (parsers in :mod:`mesh.cli`).

Files are read whole before anything is written, and a bad file is refused with the
line (and column, for JSON syntax) of the problem: an import registers every card of
the file or none.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from mesh.errors import InputError
from mesh.identity import acting_as
from mesh.models import AgentCard, AgentState
from mesh.registry import MAX_K, Registry, parse_card

STATES = [s.value for s in AgentState]
OVERFETCH = 4  # matches fetched per one wanted when --user hides some


def add_arguments(sub: Any) -> None:
    """The sub-commands of `mesh agents` (all but `serve`, which the CLI adds itself)."""
    listing = sub.add_parser("list", help="registered agents")
    listing.add_argument("--state", choices=STATES, help="only agents in this state")
    listing.add_argument("--json", action="store_true")
    _user(listing, "only the agents this principal may engage")
    search = sub.add_parser("search", help="agents ranked for a task")
    search.add_argument("query")
    search.add_argument("--k", type=int, default=5, help="how many agents (default 5)")
    search.add_argument("--tag", action="append", default=[], help="must have it (repeatable)")
    search.add_argument("--owner")
    search.add_argument("--capability", help="a skill name or skill tag")
    search.add_argument(
        "--state", choices=[*STATES, "any"], default="available", help="default: available"
    )
    search.add_argument("--explain", action="store_true", help="show the evidence per agent")
    search.add_argument("--json", action="store_true")
    _user(search, "only the agents this principal may engage, as discovery would offer them")
    show = sub.add_parser("show", help="one agent's card (always JSON)")
    show.add_argument("name")
    show.add_argument("--json", action="store_true")
    remove = sub.add_parser("remove", help="deregister an agent")
    remove.add_argument("name")
    remove.add_argument("--json", action="store_true")
    _user(remove, WRITE_AS)
    for name, helptext in (
        ("register", "add or replace the card in a JSON file"),
        ("update", "replace a card by a newer version from a JSON file"),
        ("import", "register every card of a JSON Lines file, all or none"),
    ):
        cmd = sub.add_parser(name, help=helptext)
        cmd.add_argument("file")
        cmd.add_argument("--json", action="store_true")
        _user(cmd, WRITE_AS)


WRITE_AS = "write as this principal (default: the local owner); the policy decides"


def _user(parser: Any, helptext: str) -> None:
    parser.add_argument("--user", help=helptext)


def run(
    registry: Registry,
    args: argparse.Namespace,
    may_engage: Callable[[str, str], bool] | None = None,
) -> int:
    """One `mesh agents` action; `may_engage(user, agent)` filters what `--user` sees."""
    user = getattr(args, "user", None)
    with acting_as(user) if user else nullcontext():
        return _run(registry, args, _visible(user, may_engage))


def _visible(
    user: str | None, may_engage: Callable[[str, str], bool] | None
) -> Callable[[str], bool]:
    if user is None or may_engage is None:
        return lambda _: True
    return lambda name: may_engage(user, name)


def _run(registry: Registry, args: argparse.Namespace, visible: Callable[[str], bool]) -> int:
    action = args.action
    if action == "list":
        cards = [c for c in registry.list(state=args.state) if visible(c.name)]
        _out(args, [c.model_dump(mode="json") for c in cards], [_line(c) for c in cards])
    elif action == "search":
        state = None if args.state == "any" else args.state
        filters = {
            "state": state,
            "tags": args.tag,
            "owner": args.owner,
            "capability": args.capability,
        }
        wanted = args.k if args.user is None else min(MAX_K, args.k * OVERFETCH)
        if args.explain:
            rows = registry.explain(args.query, k=wanted, **filters)
            rows = [r for r in rows if visible(str(r["agent"]))][: args.k]
            _out(args, rows, [_explained(r) for r in rows])
        else:
            found = registry.search(args.query, k=wanted, **filters)
            found = [m for m in found if visible(m.card.name)][: args.k]
            lines = [
                f"{m.score:.3f}  {m.card.name:<20} {(m.skill.name if m.skill else '-'):<24}"
                f" {m.card.description}"
                for m in found
            ]
            _out(args, [m.model_dump(mode="json") for m in found], lines)
    elif action == "show":
        card = registry.get(args.name)
        print(card.model_dump_json(indent=2))
    elif action in ("register", "update"):
        card = read_card(args.file)
        done = registry.register(card) if action == "register" else registry.update(card)
        _out(args, done.model_dump(mode="json"), [f"{action}ed {done.name} {done.version}"])
    elif action == "import":
        cards = read_cards(args.file)
        registry.register_many(cards)
        names = [c.name for c in cards]
        _out(args, {"imported": names}, [f"imported {len(names)} agents"])
    elif action == "remove":
        registry.deregister(args.name)
        _out(args, {"removed": args.name}, [f"removed {args.name}"])
    return 0


def read_card(path: str) -> AgentCard:
    """One card from a JSON file; errors name the line and column, or the field."""
    text = _read(path)
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}, line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})"
        ) from None
    if not isinstance(raw, dict):
        raise InputError(f"{path}: expected one card as a JSON object, got {type(raw).__name__}")
    try:
        return parse_card(raw)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


def read_cards(path: str) -> list[AgentCard]:
    """Cards from a JSON Lines file (one card per line; blank lines skipped)."""
    cards: list[AgentCard] = []
    for number, line in enumerate(_read(path).splitlines(), start=1):
        if not line.strip():
            continue
        if number == 1 and line.lstrip().startswith("["):
            raise InputError(
                f"{path}, line {number}: this looks like a JSON array; import wants JSON Lines,"
                " one card per line (use `mesh agents register` for a single card)"
            )
        try:
            cards.append(parse_card(line))
        except InputError as exc:
            raise InputError(f"{path}, line {number}: {exc}") from None
    if not cards:
        raise InputError(f"{path} holds no cards: write one JSON card per line")
    return cards


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InputError(f"cannot read {path}: {reason}") from None


def _line(card: AgentCard) -> str:
    return f"{card.name:<20} {card.state.value:<10} {card.version:<8} {card.description}"


def _explained(row: dict[str, Any]) -> str:
    evidence = " ".join(f"{k}={v:.2f}" for k, v in row["evidence"].items())
    return f"{row['score']:.3f}  {row['agent']:<20} {row['skill'] or '-':<24} {evidence}"


def _out(args: argparse.Namespace, data: Any, lines: list[str]) -> None:
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        for line in lines:
            print(line)

"""The `mesh` command line: run requests, manage agents, check policy and audit."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mesh.errors import InputError, MeshError
from mesh.models import RunResult

if TYPE_CHECKING:
    from mesh.core import Mesh


def _mesh(args: argparse.Namespace) -> Mesh:
    from mesh.core import Mesh

    return Mesh.local(args.home) if args.home else Mesh.local()


def cmd_run(args: argparse.Namespace) -> int:
    m = _mesh(args)
    result = m.run(args.request, user=args.user, thread_id=args.thread)
    _print_result(result, args.json)
    return 0 if result.ok else 1


def cmd_resume(args: argparse.Namespace) -> int:
    m = _mesh(args)
    result = m.resume(args.thread_id)
    _print_result(result, args.json)
    return 0 if result.ok else 1


def _print_result(result: RunResult, as_json: bool) -> None:
    if as_json:
        print(result.model_dump_json(indent=2))
    else:
        print(result.answer)
        print(f"\n(thread {result.thread_id})", file=sys.stderr)


def cmd_ui(args: argparse.Namespace) -> int:
    from mesh.ui.app import serve

    serve(_mesh(args), host=args.host, port=args.port)
    return 0


def cmd_agents(args: argparse.Namespace) -> int:
    from mesh.registry import parse_card

    m = _mesh(args)
    registry = m.registry
    if args.action == "list":
        cards = registry.list()
        if args.json:
            print(json.dumps([c.model_dump(mode="json") for c in cards], indent=2))
        for card in [] if args.json else cards:
            print(f"{card.name:<20} {card.state.value:<10} {card.description}")
    elif args.action == "search":
        matches = registry.search(args.query, k=args.k)
        if args.json:
            print(json.dumps([mt.model_dump(mode="json") for mt in matches], indent=2))
        for mt in [] if args.json else matches:
            skill = mt.skill.name if mt.skill else "-"
            print(f"{mt.score:.3f}  {mt.card.name:<20} {skill:<24} {mt.card.description}")
    elif args.action == "show":
        print(registry.get(args.name).model_dump_json(indent=2))
    elif args.action == "register":
        card = parse_card(_read(args.file))
        registry.register(card)
        print(f"registered {card.name}")
    elif args.action == "import":
        cards = []
        for number, line in enumerate(_read(args.file).splitlines(), start=1):
            if not line.strip():
                continue
            try:
                cards.append(parse_card(line))
            except InputError as exc:
                raise InputError(f"{args.file}, line {number}: {exc}") from exc
        registry.register_many(cards)
        print(f"imported {len(cards)} agents")
    elif args.action == "remove":
        registry.deregister(args.name)
        print(f"removed {args.name}")
    return 0


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc


def cmd_audit(args: argparse.Namespace) -> int:
    m = _mesh(args)
    audit = m.audit
    if args.action == "verify":
        ok, message = audit.verify(args.head)
        print(message)
        return 0 if ok else 1
    filters = {k: v for k, v in (("principal", args.principal), ("decision", args.decision)) if v}
    for rec in audit.records(limit=args.n, **filters):
        print(
            f"{rec.seq:>6} {rec.ts} {rec.decision:<5} {rec.principal} {rec.action} {rec.obj}"
            f"  {rec.reason}"
        )
    return 0


def cmd_policy(args: argparse.Namespace) -> int:
    m = _mesh(args)
    policy = m.policy
    if args.action == "check":
        decision = policy.check(args.sub, args.obj, args.act)
        print(f"{'allow' if decision.allowed else 'deny'}: {decision.reason}")
        return 0 if decision.allowed else 1
    if args.action == "add":
        (policy.allow if args.effect == "allow" else policy.deny)(args.sub, args.obj, args.act)
    else:
        policy.remove(args.sub, args.obj, args.act, args.effect)
    print(f"{args.action}ed {args.effect} {args.sub} {args.obj} {args.act}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mesh", description="Agentic Mesh command line")
    p.add_argument("--home", help="mesh home folder (default: $MESH_HOME or ./.mesh)")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="answer a request")
    run.add_argument("request")
    run.add_argument("--json", action="store_true", help="print the RunResult as JSON")
    run.add_argument("--thread", help="thread id, to resume or name the run")
    run.add_argument("--user", help="requesting principal (default: the local owner)")
    run.set_defaults(func=cmd_run)

    resume = sub.add_parser("resume", help="finish an interrupted run")
    resume.add_argument("thread_id")
    resume.add_argument("--json", action="store_true")
    resume.set_defaults(func=cmd_resume)

    ui = sub.add_parser("ui", help="start the chat UI")
    ui.add_argument("--host", default=None)
    ui.add_argument("--port", type=int, default=None)
    ui.set_defaults(func=cmd_ui)

    agents = sub.add_parser("agents", help="the agent registry")
    a = agents.add_subparsers(dest="action", required=True)
    a.add_parser("list").add_argument("--json", action="store_true")
    s = a.add_parser("search")
    s.add_argument("query")
    s.add_argument("--k", type=int, default=5)
    s.add_argument("--json", action="store_true")
    a.add_parser("show").add_argument("name")
    a.add_parser("register").add_argument("file", help="a card as JSON")
    a.add_parser("import").add_argument("file", help="cards as JSON lines")
    a.add_parser("remove").add_argument("name")
    agents.set_defaults(func=cmd_agents, json=False)

    audit = sub.add_parser("audit", help="the audit log")
    au = audit.add_subparsers(dest="action", required=True)
    au.add_parser("verify").add_argument("--head", help="expected chain head hash")
    tail = au.add_parser("tail")
    tail.add_argument("-n", type=int, default=20)
    tail.add_argument("--principal")
    tail.add_argument("--decision", choices=["allow", "deny"])
    audit.set_defaults(func=cmd_audit, head=None)

    policy = sub.add_parser("policy", help="the access policy")
    po = policy.add_subparsers(dest="action", required=True)
    for name in ("check", "add", "remove"):
        cmd = po.add_parser(name)
        cmd.add_argument("sub")
        cmd.add_argument("obj")
        cmd.add_argument("act")
        if name != "check":
            cmd.add_argument("--effect", choices=["allow", "deny"], default="allow")
    policy.set_defaults(func=cmd_policy)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except MeshError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

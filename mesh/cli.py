"""The `mesh` command line: run requests, manage agents, check policy and audit."""

from __future__ import annotations

import argparse
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

    serve(_mesh(args), host=args.host, port=args.port, auth_file=args.auth)
    return 0


def cmd_agents(args: argparse.Namespace) -> int:
    from mesh import registry_cli

    mesh = _mesh(args)
    return registry_cli.run(mesh.registry, args, mesh.policy.may_dispatch)


def cmd_agents_serve(args: argparse.Namespace) -> int:
    from mesh.agent_server import serve_builtin

    serve_builtin(
        args.name, home=args.home, host=args.host, port=args.port, token_file=args.token_file
    )
    return 0


def _home(args: argparse.Namespace) -> Path:
    from mesh.settings import load_settings

    return Path(args.home) if args.home else load_settings().home


def cmd_audit(args: argparse.Namespace) -> int:
    from mesh.audit import AuditLog

    path = _home(args) / "audit.sqlite"
    if not path.is_file():
        raise InputError(f"no audit log at {path}: give the mesh's --home (or set MESH_HOME)")
    audit = AuditLog(path)  # only the log: verifying must not start (and write) a mesh
    if args.action == "verify":
        ok, message = audit.verify(args.head)
        print(message)
        return 0 if ok else 1
    if args.action == "head":
        print(audit.head())
        return 0
    wanted = (
        ("principal", args.principal),
        ("decision", args.decision),
        ("action", args.act),
        ("obj", args.obj),
        ("run_id", args.run),
    )
    filters = {k: v for k, v in wanted if v}
    for rec in audit.records(limit=args.n, **filters):
        print(
            f"{rec.seq:>6} {rec.ts} {rec.decision:<5} {rec.principal} {rec.action} {rec.obj}"
            f"  {rec.reason}"
        )
    return 0


def cmd_policy(args: argparse.Namespace) -> int:
    from mesh.policy import Policy

    policy = Policy.at(_home(args) / "policy")  # only the policy files, not a whole mesh
    if args.action == "check":
        decision = policy.check(args.sub, args.obj, args.act)
        print(f"{'allow' if decision.allowed else 'deny'}: {decision.reason}")
        return 0 if decision.allowed else 1
    rule = f"p, {args.sub}, {args.obj}, {args.act}, {args.effect}"
    if args.action == "add":
        add = policy.allow if args.effect == "allow" else policy.deny
        changed = add(args.sub, args.obj, args.act)
        print(f"added {rule}" if changed else f"already there: {rule}")
    elif not policy.remove(args.sub, args.obj, args.act, args.effect):
        raise InputError(f"no rule '{rule}' in {policy.policy_path}: nothing was removed")
    else:
        print(f"removed {rule}")
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
    ui.add_argument("--auth", help="users file (name:password lines); each user is a principal")
    ui.set_defaults(func=cmd_ui)

    agents = sub.add_parser("agents", help="the agent registry")
    a = agents.add_subparsers(dest="action", required=True)
    from mesh.registry_cli import add_arguments as add_agent_commands

    add_agent_commands(a)
    serve = a.add_parser("serve", help="serve a built-in agent over HTTP (A2A card + JSON-RPC)")
    serve.add_argument("name")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--token-file", help="file holding the bearer token callers must send")
    serve.set_defaults(func=cmd_agents_serve)
    agents.set_defaults(func=cmd_agents, json=False)

    audit = sub.add_parser("audit", help="the audit log")
    au = audit.add_subparsers(dest="action", required=True)
    au.add_parser("verify").add_argument("--head", help="expected chain head hash")
    au.add_parser("head", help="print the chain head, to keep where the log's writer cannot")
    tail = au.add_parser("tail")
    tail.add_argument("-n", type=int, default=20)
    tail.add_argument("--principal")
    tail.add_argument("--decision", choices=["allow", "deny"])
    tail.add_argument("--action", dest="act", help="dispatch, discover, request, register …")
    tail.add_argument("--obj", help="e.g. agent:calculator")
    tail.add_argument("--run", help="a run's thread id")
    audit.set_defaults(func=cmd_audit, head=None, act=None, obj=None, run=None)

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

"""examples/agents_at_work.ipynb runs in a real kernel and shows what its text claims:
discovery filters, explains and learns, messages reach their subscribers or are refused
with the reason, and one agent asks another."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from mesh.audit import AuditLog

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "agents_at_work.ipynb"
ASK = "get me from London to Amsterdam on Friday"


def execute(folder: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()
    return nb


def shown_by(nb: nbformat.NotebookNode, source_start: str) -> str:
    """The text the one code cell whose source starts with `source_start` showed."""
    (cell,) = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(source_start)]
    texts = [str(out.get("text", "")) for out in cell.outputs]
    texts += [str(out.get("data", {}).get("text/plain", "")) for out in cell.outputs]
    return "\n".join(texts)


def rankings(text: str) -> list[tuple[str, list[str]]]:
    """The `top(...)` lines: each query with its agents, best first."""
    lines = re.findall(r"^'(.+)' -> (.+)$", text, re.MULTILINE)
    return [(query, [hit.split()[0] for hit in hits.split(", ")]) for query, hits in lines]


def evidence(text: str) -> dict[str, dict[str, float]]:
    """The rows of an `evidence(...)` table, by agent."""
    header, *rows = [line.split() for line in text.strip().splitlines()]
    assert header[:2] == ["agent", "score"], header
    return {row[1]: dict(zip(header[1:], map(float, row[2:]), strict=True)) for row in rows}


def deliveries(text: str) -> list[tuple[str, str, str]]:
    """(kind, topic, agent) of each message_delivered / message_undelivered line."""
    return re.findall(r"^(message_\w+)\s+(\S+)\s+-> (\S+)$", text, re.MULTILINE)


def test_the_notebook_is_stored_without_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)
    assert len(nb.cells) <= 25 and code[-1].source == "m.close()"


def check_discovery(nb: nbformat.NotebookNode) -> None:
    (before,) = rankings(shown_by(nb, "def booker"))
    assert before[0] == ASK and before[1][:2] == ["flights", "trains"], "the wrong first pick"
    assert rankings(shown_by(nb, "top(ASK, tags")) == [
        (ASK, ["trains"]),
        (ASK, ["flights", "hotels"]),  # owner skyways
        ("a room in Amsterdam for Friday night", ["hotels"]),
    ]
    why = evidence(shown_by(nb, "import pandas"))
    assert list(why)[:2] == ["flights", "trains"]
    assert why["flights"]["example"] > why["trains"]["example"], "flights wins on its example"
    assert why["flights"]["lexical"] > 0 and why["trains"]["lexical"] == 0, "London, Friday"
    assert why["trains"]["card"] > why["flights"]["card"], "the closer description"
    assert why["flights"]["success"] == why["flights"]["failure"] == 0, "nothing learned yet"

    after = dict(rankings(shown_by(nb, 'top("how do I get')))
    assert after["how do I get from London to Amsterdam"][0] == "trains"
    assert after["I need to travel London to Amsterdam friday"][0] == "trains"
    assert after["fly me to Tokyo from London"][0] == "flights", "other asks are unaffected"
    learned = evidence(shown_by(nb, 'evidence("how do I get'))
    assert list(learned) == ["trains", "hotels", "flights"], "the failure sinks flights"
    assert learned["trains"]["success"] > 0 and learned["trains"]["failure"] == 0
    assert learned["flights"]["failure"] > 0 and learned["flights"]["score"] < 0.1


def check_messages(nb: nbformat.NotebookNode) -> None:
    delivered = shown_by(nb, "async def run_plan")
    assert sorted(deliveries(delivered)) == [
        ("message_delivered", "orders.cancelled", "accounting"),  # by the pattern orders.*
        ("message_delivered", "orders.new", "accounting"),
        ("message_delivered", "orders.new", "warehouse"),  # by the exact topic only
    ]
    for line in (
        "ledger: orders.new A-1001 from shop",
        "ledger: orders.cancelled A-0999 from shop",
        "picking espresso machine for A-1001",
    ):
        assert line in delivered
    assert "failed" not in delivered

    refused = shown_by(nb, 'm.policy.deny("agent:accounting"')
    assert sorted(deliveries(refused)) == [
        ("message_delivered", "orders.new", "warehouse"),
        ("message_undelivered", "orders.cancelled", "accounting"),
        ("message_undelivered", "orders.new", "accounting"),
    ]
    assert refused.count("denied by 'p, agent:accounting, topic:orders.*, subscribe, deny'") == 2
    assert "picking espresso machine for A-1001" in refused and "ledger:" not in refused
    assert "order A-1001 new" in refused and "failed" not in refused, "the shop is unaffected"
    lifted = shown_by(nb, 'm.policy.remove("agent:accounting"')
    assert "allowed by 'p, agent:*, topic:*, subscribe, allow'" in lifted

    asked = shown_by(nb, "def invoice")
    assert "invoice waits for ['bill#0']" in asked
    assert "request bill#0: invoice -> calculator: 3 * 19.99 + 4.50" in asked
    assert "response bill#0: calculator -> invoice: 3 * 19.99 + 4.50 = 64.47" in asked
    assert "3 mugs and postage: 64.47 (computed by calculator)" in asked
    report = shown_by(nb, 'print(m.run("write a report')
    assert "Total: 1780 (computed by calculator)" in report and "(answered by report)" in report


def test_agents_at_work_shows_the_same_every_time_it_runs(tmp_path: Path) -> None:
    for _ in range(2):  # a re-run in the same folder starts over what it learned and denied
        nb = execute(tmp_path)
        check_discovery(nb)
        check_messages(nb)
    home = tmp_path / ".mesh"
    assert "topic:orders.*" not in (home / "policy" / "policy.csv").read_text()
    audit = AuditLog(home / "audit.sqlite")
    try:
        refusals = audit.records(principal="agent:accounting", action="subscribe", decision="deny")
        assert sorted(r.obj for r in refusals) == sorted(
            2 * ["topic:orders.cancelled", "topic:orders.new"]
        )
        assert audit.verify()[0]
    finally:
        audit.close()

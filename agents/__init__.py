"""Built-in agents: each module declares its `AgentCard` and a handler."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from mesh.graphs.agent import Handler
from mesh.models import AgentCard


def builtin_agents(client: Any, embedding_function: Any) -> list[tuple[AgentCard, Handler]]:
    """The built-in agents, ready for `Mesh.add_agent`; the knowledge base is seeded once."""
    from mesh.agents import calculator, dates, report, text, transform, units
    from mesh.agents.csv_analyst import CSV_ANALYST_CARD, CsvAnalyst
    from mesh.agents.knowledge import KnowledgeBase
    from mesh.agents.web import WEB_READER_CARD, WebReader

    knowledge = KnowledgeBase(client, embedding_function)
    knowledge.ensure_seeded(Path(str(resources.files("mesh.agents") / "docs")))
    return [
        (calculator.CALCULATOR_CARD, calculator.handler),
        (text.TEXT_CARD, text.handler),
        (knowledge.card(), knowledge.handler),
        (report.REPORT_CARD, report.handler),
        (units.UNITS_CARD, units.handler),
        (dates.DATES_CARD, dates.handler),
        (CSV_ANALYST_CARD, CsvAnalyst()),
        (transform.TRANSFORM_CARD, transform.handler),
        (WEB_READER_CARD, WebReader()),
    ]

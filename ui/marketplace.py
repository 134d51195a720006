"""The Marketplace tab: find agents by meaning, filter them, register and engage them.

Search is the registry's semantic search (the same ranking discovery uses); an empty
query lists every card that passes the filters. Registering a card from JSON shows each
invalid field; a card whose endpoint is an http(s) URL is connected as a remote A2A
agent at once, and stays connected after a restart (a bearer token given to Connect is
stored under the mesh home, never in the card). Every write and every engagement goes
through the policy as the user who is logged in, exactly as a chat request would.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

import gradio as gr

from mesh.a2a import fetch_card
from mesh.core import Mesh
from mesh.errors import MeshError
from mesh.models import AgentCard, AgentState, Plan, Task
from mesh.remote import check_token, connect_card, is_remote
from mesh.ui.chat import user_of
from mesh.ui.progress import RunView, clip

ANY = "any"
MAX_RESULTS = 30
EXAMPLE_CARD = {
    "name": "weather",
    "description": "Weather forecasts for any city, today and the next seven days",
    "owner": "team-outdoors",
    "tags": ["weather", "forecast"],
    "skills": [
        {
            "name": "forecast",
            "description": "Forecast rain, sun and temperature for a city",
            "examples": ["will it rain in Paris tomorrow"],
        }
    ],
}


def find_agents(
    mesh: Mesh, query: str, tags: list[str], state: str, owner: str
) -> list[tuple[AgentCard, float | None, str | None]]:
    """(card, score, best skill) for the query and filters; every card if the query is empty."""
    wanted_state = None if state in ("", ANY) else state
    wanted_owner = None if owner in ("", ANY) else owner
    if query.strip():
        matches = mesh.registry.search(
            query, k=MAX_RESULTS, state=wanted_state, tags=tags or [], owner=wanted_owner
        )
        return [(m.card, m.score, m.skill.name if m.skill else None) for m in matches]
    found: list[tuple[AgentCard, float | None, str | None]] = []
    for card in mesh.registry.list():
        card_tags = set(card.tags).union(*(s.tags for s in card.skills))
        if wanted_state and card.state != AgentState(wanted_state):
            continue
        if (wanted_owner and card.owner != wanted_owner) or not set(tags or []) <= card_tags:
            continue
        found.append((card, None, None))
    return found


def card_html(
    card: AgentCard, score: float | None, skill: str | None, runnable: bool, min_score: float = 0.0
) -> str:
    """One agent as a card: name, score, state, owner, tags, skills with examples.

    Matches scoring below `min_score` (what discovery would ignore) are dimmed.
    """
    chips = "".join(f'<span class="mk-tag">{escape(t)}</span>' for t in card.tags)
    where = "runs here" if runnable else "no handler here"
    if card.endpoint.startswith(("http://", "https://")):
        where = f"remote: {escape(card.endpoint)}"
    skills = "".join(
        f'<li class="mk-skill{" mk-best" if s.name == skill else ""}"><b>{escape(s.name)}</b>'
        f" — {escape(s.description)}"
        + (f"<br><i>e.g. “{escape(clip(s.examples[0], 90))}”</i>" if s.examples else "")
        + "</li>"
        for s in card.skills
    )
    topics = (
        f'<div class="mk-subs">hears: {escape(", ".join(card.subscribes))}</div>'
        if card.subscribes
        else ""
    )
    match = f'<span class="mk-score">match {score:.2f}</span>' if score is not None else ""
    weak = " mk-weak" if score is not None and score < min_score else ""
    return (
        f'<div class="mk-card{weak}" data-agent="{escape(card.name)}">'
        f'<div class="mk-head"><b class="mk-name">{escape(card.name)}</b>'
        f" <small>v{escape(card.version)} · {escape(card.owner)} ·"
        f' <span class="mk-state mk-{escape(card.state.value)}">{escape(card.state.value)}</span>'
        f" · {where}</small> {match}</div>"
        f'<div class="mk-desc">{escape(card.description)}</div>'
        f'<div class="mk-tags">{chips}</div>{topics}<ul class="mk-skills">{skills}</ul></div>'
    )


def results_html(mesh: Mesh, query: str, tags: list[str], state: str, owner: str) -> str:
    try:
        found = find_agents(mesh, query, tags, state, owner)
    except MeshError as exc:
        return f'<div class="mk-error">{escape(str(exc))}</div>'
    if not found:
        return '<div class="mk-empty">No agent matches. Loosen the filters or register one.</div>'
    runnable = set(mesh.agents)
    head = f'<div class="mk-count">{len(found)} agent(s)</div>'
    floor = mesh.settings.min_score
    return head + "".join(card_html(c, s, k, c.name in runnable, floor) for c, s, k in found)


def _choices(mesh: Mesh) -> tuple[list[str], list[str], list[str]]:
    cards = mesh.registry.list()
    tags = sorted(
        {t for c in cards for t in c.tags} | {t for c in cards for s in c.skills for t in s.tags}
    )
    owners = [ANY, *sorted({c.owner for c in cards})]
    return tags, owners, mesh.agents


def register(mesh: Mesh, text: str, user: str | None) -> str:
    """Register a card from JSON as `user`; the status line says what happened or was wrong."""
    from mesh.registry import parse_card

    try:
        card = parse_card(text or "")
    except MeshError as exc:
        problems = str(exc).removeprefix("invalid agent card: ").split("; ")
        return "❌ **Not registered** — fix these fields:\n" + "\n".join(f"- {p}" for p in problems)
    return _write(mesh, card, user)


def _write(mesh: Mesh, card: AgentCard, user: str | None, token: str | None = None) -> str:
    principal = user or mesh.settings.default_user
    decision = mesh.policy.check(principal, f"registry:{card.name}", "write")
    mesh.audit.decision(decision)
    if not decision.allowed:
        return f"⛔ **Denied**: {principal} may not write registry:{card.name} ({decision.reason})"
    try:
        if is_remote(card.endpoint):
            connect_card(mesh, card, token=token)
            return f"✅ Registered **{card.name}** and connected it at {card.endpoint}."
        mesh.registry.register(card)
    except MeshError as exc:
        return f"❌ **Not registered**: {exc}"
    runs = card.name in mesh.agents
    note = "" if runs else " It has no handler in this process yet: discovery will skip it."
    return f"✅ Registered **{card.name}**.{note}"


def connect(mesh: Mesh, url: str, user: str | None, token: str = "") -> str:
    """Read a remote A2A agent's card at `url` and add it, as `user`, with its `token`.

    The user must be allowed to write the registry before the server fetches anything,
    so the form cannot be used to probe the network by someone who may not add agents.
    An empty `token` keeps the one stored for this agent, if any.
    """
    principal = user or mesh.settings.default_user
    decision = mesh.policy.check(principal, "registry:remote", "write")
    mesh.audit.decision(decision)
    if not decision.allowed:
        return f"⛔ **Denied**: {principal} may not add agents to the registry"
    try:
        secret = check_token(token) if token else None
        card = fetch_card(url.strip(), token=secret)
    except MeshError as exc:
        return f"❌ **Not connected**: {exc}"
    return _write(mesh, card, user, secret)


async def engage(mesh: Mesh, agent: str, text: str, user: str | None) -> str:
    """Run one task on one named agent, through the policy gate; the outcome as Markdown."""
    if not agent:
        return "Pick an agent first."
    try:
        plan = Plan(tasks=[Task(id="direct", description=text.strip() or "-", agent=agent)])
        view = RunView()
        async for event in mesh.astream(plan, user=user):
            view.apply(event)
    except MeshError as exc:
        return f"❌ {exc}"
    except ValueError as exc:
        return f"❌ {exc}"
    task = view.tasks.get("direct")
    if task is None:
        return "❌ the run produced no result"
    if task.state == "succeeded":
        return f"✅ **{task.agent}** answered:\n\n{task.output}"
    if task.state == "denied":
        return (
            f"⛔ **Denied by policy**: {user or mesh.settings.default_user} may not engage {agent}."
        )
    return f"❌ **{task.state}**: {task.error}"


def marketplace_tab(mesh: Mesh) -> None:
    """Build the Marketplace tab inside the current Blocks."""
    tags, owners, runnable = _choices(mesh)
    states = [ANY, *(s.value for s in AgentState)]
    with gr.Row():
        query = gr.Textbox(
            label="Search agents by what they do",
            placeholder="e.g. convert miles to kilometres",
            elem_id="mk-query",
            scale=4,
        )
        tag_filter = gr.Dropdown(tags, multiselect=True, label="Tags", elem_id="mk-tags", scale=2)
        state = gr.Dropdown(states, value="available", label="State", elem_id="mk-state", scale=1)
        owner = gr.Dropdown(
            owners, value=ANY, label="Owner", elem_id="mk-owner", scale=1, allow_custom_value=True
        )
        search = gr.Button("Search", elem_id="mk-search", variant="primary", scale=1)
    results = gr.HTML(results_html(mesh, "", [], "available", ANY), elem_id="mk-results")
    with gr.Row(equal_height=False):
        with gr.Column():
            gr.Markdown("### Register an agent card")
            card_json = gr.Code(
                json.dumps(EXAMPLE_CARD, indent=2), language="json", elem_id="mk-card-json"
            )
            register_btn = gr.Button("Register", elem_id="mk-register")
            register_status = gr.Markdown(elem_id="mk-register-status")
            url = gr.Textbox(
                label="…or connect a remote A2A agent by URL",
                placeholder="http://127.0.0.1:8000",
                elem_id="mk-remote-url",
            )
            remote_token = gr.Textbox(
                label="Bearer token, if the agent needs one (stored 0600 under the mesh home)",
                type="password",
                elem_id="mk-remote-token",
            )
            connect_btn = gr.Button("Connect", elem_id="mk-connect")
        with gr.Column():
            gr.Markdown("### Engage an agent directly")
            agent = gr.Dropdown(runnable, label="Agent", elem_id="mk-agent")
            task = gr.Textbox(label="Task", placeholder="What should it do?", elem_id="mk-task")
            engage_btn = gr.Button("Run on this agent", elem_id="mk-engage", variant="primary")
            engaged = gr.Markdown(elem_id="mk-engage-result")

    filters = [query, tag_filter, state, owner]

    def refresh(q: str, t: list[str], s: str, o: str) -> str:
        return results_html(mesh, q, t, s, o)

    def after_write(status: str, *values: Any) -> tuple[Any, ...]:
        new_tags, new_owners, new_runnable = _choices(mesh)
        return (
            status,
            results_html(mesh, *values),
            gr.update(choices=new_tags),
            gr.update(choices=new_owners),
            gr.update(choices=new_runnable),
        )

    def do_register(
        text: str, q: str, t: list[str], s: str, o: str, request: gr.Request
    ) -> tuple[Any, ...]:
        return after_write(register(mesh, text, user_of(request)), q, t, s, o)

    def do_connect(
        address: str, secret: str, q: str, t: list[str], s: str, o: str, request: gr.Request
    ) -> tuple[Any, ...]:
        return after_write(connect(mesh, address, user_of(request), secret), q, t, s, o)

    async def do_engage(name: str, text: str, request: gr.Request) -> str:
        return await engage(mesh, name, text, user_of(request))

    search.click(refresh, filters, results, api_name="search_agents")
    query.submit(refresh, filters, results, api_visibility="private")
    for control in (tag_filter, state, owner):
        control.change(refresh, filters, results, api_visibility="private")
    written = [register_status, results, tag_filter, owner, agent]
    register_btn.click(do_register, [card_json, *filters], written, api_name="register_agent")
    connect_btn.click(do_connect, [url, remote_token, *filters], written, api_visibility="private")
    engage_btn.click(do_engage, [agent, task], engaged, api_name="engage_agent")

"""Publish/subscribe: a publish that passed its gate becomes one task per subscriber.

An agent subscribes by listing topics in its card (`AgentCard.subscribes`), or patterns
(``orders.*``: one word; ``orders.#``: any number, see `mesh.models.check_subscription`). When
`collect` files a publish, `fan_out` offers it to every subscriber that runs in this
process, is neither offline nor draining, and is not the sender. Each delivery is
decided and audited: the chain of deliveries behind the message stays within
`MESH_MAX_MESSAGE_HOPS` (a subscriber that publishes starts the next link), the run
stays within `MESH_MAX_TASKS`, the subscriber may `subscribe` to the topic, and the user
the run acts for may dispatch to the subscriber. A refused delivery is streamed as
`message_undelivered` with its reason: nothing is dropped silently.

A delivery is a task of the run, pinned to the subscriber, with the payload as its
inputs, the envelope in its inbox and the publishing task as its dependency (a task
that publishes and then waits for replies has its messages delivered once it has
finished). Its id comes from the envelope id and the subscriber, so a rerun of the
publisher, or a run resumed after a crash, finds the delivery made and never makes it
twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mesh.errors import AgentNotFound
from mesh.graphs.runtime import Services
from mesh.graphs.state import Inbound, MeshState
from mesh.models import AgentCard, AgentState, Decision, Envelope, Task, topic_matches

Emit = Callable[[dict[str, Any]], None]

MAX_TASK_ID = 128
_ASLEEP = (AgentState.OFFLINE, AgentState.DRAINING)


def delivery_id(envelope_id: str, subscriber: str) -> str:
    """The task id of `envelope_id` delivered to `subscriber`: the same on every rerun."""
    plain = f"{envelope_id}>{subscriber}"
    if len(plain) <= MAX_TASK_ID:
        return plain
    return f"msg-{hashlib.sha256(plain.encode()).hexdigest()[:32]}>{subscriber}"


@dataclass
class Fanout:
    """The deliveries one `collect` makes: new tasks, and the state writes they need."""

    tasks: dict[str, Task] = field(default_factory=dict)
    dependants: dict[str, list[str]] = field(default_factory=dict)
    inbound: dict[str, Inbound] = field(default_factory=dict)
    ready: list[str] = field(default_factory=list)

    def writes(self) -> dict[str, Any]:
        if not self.tasks:
            return {}
        return {
            "tasks": self.tasks,
            "dependants": self.dependants,
            "candidates": {t.id: [t.agent] for t in self.tasks.values()},
            "inbound": self.inbound,
        }


def fan_out(
    services: Services,
    filed: dict[str, Envelope],
    mailbox: dict[str, Envelope],
    state: MeshState,
    emit: Emit,
) -> Fanout:
    """Deliver the publishes just filed to their subscribers, as new tasks of the run."""
    fan = Fanout()
    publishes = [e for e in filed.values() if e.kind == "publish"]
    if not publishes:
        return fan
    listening = subscribers(services)
    tasks, results = state["tasks"], state.get("results") or {}
    inbound = state.get("inbound") or {}
    audited: dict[str, list[Decision]] = {}
    for envelope in publishes:
        origin = _origin(envelope, tasks, mailbox)
        hops = 1 + (inbound[origin]["hops"] if origin in inbound else 0)
        for card in hearing(listening, envelope.topic):
            if card.name == envelope.sender:
                continue
            task_id = delivery_id(envelope.id, card.name)
            if task_id in tasks or task_id in fan.tasks:
                continue  # delivered already: a rerun or a resumed run files it again
            size = len(tasks) + len(fan.tasks)
            audited[task_id], refusal = _decide(services, state, card, envelope, hops, size)
            if refusal is not None:
                emit(
                    {
                        "kind": "message_undelivered",
                        "task_id": envelope.task_id,
                        "envelope": envelope.id,
                        "topic": envelope.topic,
                        "agent": card.name,
                        "reason": refusal,
                    }
                )
                continue
            fan.tasks[task_id] = Task(
                id=task_id,
                description=f"message on {envelope.topic} from {envelope.sender}",
                agent=card.name,
                depends_on=[origin] if origin else [],
                inputs=dict(envelope.payload),
            )
            fan.dependants[task_id] = []
            fan.inbound[task_id] = Inbound(envelope=envelope.id, hops=hops)
            if origin:
                if origin not in fan.dependants:
                    fan.dependants[origin] = list(state["dependants"].get(origin, ()))
                fan.dependants[origin].append(task_id)
            if not origin or (origin in results and results[origin].status == "succeeded"):
                fan.ready.append(task_id)
            emit(
                {
                    "kind": "message_delivered",
                    "task_id": task_id,
                    "envelope": envelope.id,
                    "topic": envelope.topic,
                    "agent": card.name,
                    "hops": hops,
                }
            )
    services.audit.decisions_by_task(state["run_id"], audited)
    if fan.tasks:  # the new tasks only: a run that delivers at every step stays linear
        emit({"kind": "plan_grown", "added": list(fan.tasks), "tasks": list(fan.tasks.values())})
    return fan


def subscribers(services: Services) -> list[AgentCard]:
    """The cards of the agents runnable here that subscribe to anything, by name."""
    cards = []
    for name in sorted(services.agents):
        try:
            card = services.registry.get(name)
        except AgentNotFound:
            continue  # removed from the registry: it gets nothing new
        if card.subscribes:
            cards.append(card)
    return cards


def hearing(cards: list[AgentCard], topic: str) -> list[AgentCard]:
    """The cards among `cards` with a subscription (a topic or a pattern) that hears `topic`."""
    return [c for c in cards if any(topic_matches(s, topic) for s in c.subscribes)]


def _origin(envelope: Envelope, tasks: dict[str, Task], mailbox: dict[str, Envelope]) -> str | None:
    """The task of the run behind a publish (an agent answering a request acts for the
    task that asked), or None if it is none of the run's tasks."""
    task_id = envelope.task_id
    if task_id is not None and task_id not in tasks and task_id in mailbox:
        task_id = mailbox[task_id].task_id  # `task_id` was a request's correlation id
    return task_id if task_id is not None and task_id in tasks else None


def _decide(
    services: Services,
    state: MeshState,
    card: AgentCard,
    envelope: Envelope,
    hops: int,
    size: int,
) -> tuple[list[Decision], str | None]:
    """The decisions on one delivery, for the audit, and why it is refused (None: made)."""
    settings = services.settings
    agent, topic = f"agent:{card.name}", f"topic:{envelope.topic}"
    refusal = None
    if card.state in _ASLEEP:
        refusal = f"agent {card.name!r} is {card.state.value}: it gets messages once available"
    elif hops > settings.max_message_hops:
        refusal = (
            f"message {envelope.id!r} would be delivery {hops} in a row (subscribers"
            f" publishing to subscribers), over MESH_MAX_MESSAGE_HOPS={settings.max_message_hops}:"
            " break the publish/subscribe loop or raise the limit"
        )
    elif size >= settings.max_tasks:
        refusal = (
            f"the run already has {size} tasks, the limit of MESH_MAX_TASKS={settings.max_tasks}:"
            " raise the limit or publish less"
        )
    if refusal is not None:
        limit = Decision(allowed=False, subject=agent, obj=topic, action="deliver", reason=refusal)
        return [limit], refusal
    subscribe = services.policy.check(agent, topic, "subscribe")
    if not subscribe.allowed:
        return [subscribe], (
            f"policy denied {agent} to subscribe to {topic} ({subscribe.reason}): allow it with"
            f" `mesh policy add {agent} {topic} subscribe`"
        )
    user = state["user"]
    dispatch = services.policy.check(user, agent, "dispatch")
    decisions = [subscribe, dispatch.model_copy(update={"action": "deliver"})]
    if not dispatch.allowed:
        return decisions, (
            f"policy denied {user!r} dispatch to agent {card.name!r}, which subscribes to"
            f" {envelope.topic!r} ({dispatch.reason}): the message is not delivered to it"
        )
    return decisions, None

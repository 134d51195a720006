"""The message bus: how an agent publishes and asks other agents during a task.

Messages travel in the graph state, so they are checkpointed with everything else.
A request cannot be answered within the superstep that makes it: `Channel.request`
records the request and stops the task (`AwaitingReplies`); the orchestrator gates and
delivers it in the next superstep, stores the response under the request's
correlation id, and runs the task again with the response in its inbox. Correlation
ids are derived from the task id and the call order, so a rerun (or a resume after a
crash) asks the same questions under the same ids and is answered from the inbox:
nothing is sent twice and nothing is lost.

A publish is filed once it passes its gate, then delivered to every agent whose card
lists the topic in `subscribes`: each delivery is a task of the run, pinned to the
subscriber, with the payload as its inputs and the envelope in its inbox. Envelope ids
are derived from the task id and the publish order, and a delivery's task id from the
envelope id and the subscriber, so a rerun never delivers a message twice.
"""

from __future__ import annotations

from typing import Any

from mesh.errors import InputError
from mesh.models import Envelope, TaskResult, check_topic

RESPONSE_SUFFIX = "/re"


class AwaitingReplies(Exception):
    """Raised inside a handler to park its task until its requests are answered."""

    def __init__(self, requests: list[Envelope]) -> None:
        super().__init__(f"waiting for {len(requests)} replies")
        self.requests = requests


def response_id(correlation_id: str) -> str:
    return correlation_id + RESPONSE_SUFFIX


class Channel:
    """One agent's handle on the bus for one task attempt."""

    def __init__(self, sender: str, task_id: str, inbox: dict[str, Envelope]) -> None:
        self.sender = sender
        self.task_id = task_id
        self.inbox = inbox
        self.outbox: list[Envelope] = []
        self.asked: list[str] = []
        self._requests = 0
        self._publishes = 0

    def publish(self, topic: str, payload: dict[str, Any]) -> Envelope:
        """Announce something on `topic`; gated, audited, streamed, and delivered to each
        agent whose card subscribes to the topic (see `mesh.graphs.subscriptions`)."""
        try:
            check_topic(topic)
        except ValueError as exc:
            raise InputError(f"publish: {exc}") from None
        envelope = Envelope(
            id=f"{self.task_id}@{self._publishes}",
            topic=topic,
            sender=self.sender,
            kind="publish",
            payload=payload,
            task_id=self.task_id,
        )
        self._publishes += 1
        self.outbox.append(envelope)
        return envelope

    def request(
        self,
        text: str,
        *,
        agent: str | None = None,
        capability: str | None = None,
        inputs: dict[str, Any] | None = None,
    ) -> TaskResult:
        """Ask another agent, by name or by capability, and get its `TaskResult`.

        The first time, this parks the task; when the task runs again the answer is
        returned from the inbox. A denied or failed request comes back as a failed result.
        """
        if (agent is None) == (capability is None):
            raise InputError("request needs exactly one of agent= or capability=")
        correlation = f"{self.task_id}#{self._requests}"
        self._requests += 1
        self.asked.append(correlation)
        answer = self.inbox.get(response_id(correlation))
        if answer is not None:
            return TaskResult.model_validate(answer.payload["result"])
        request = Envelope(
            id=correlation,
            topic=f"agent:{agent}" if agent else f"capability:{capability}",
            sender=self.sender,
            recipient=agent,
            kind="request",
            correlation_id=correlation,
            payload={"text": text, "inputs": inputs or {}, "capability": capability},
            task_id=self.task_id,
        )
        self.outbox.append(request)
        raise AwaitingReplies([e for e in self.outbox if e.kind == "request"])

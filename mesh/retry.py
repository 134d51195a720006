"""Which failures of an agent are worth a second attempt on the same agent.

Modelled on LangGraph's own ``default_retry_on`` (``langgraph._internal._retry``): what
may pass on another try is retried — lost connections, timeouts, HTTP 5xx, exceptions of
unknown kinds — and what will fail the same way again is not — a bad value or type, a
missing key, a bug (``RuntimeError``), a local OS error, HTTP 4xx. To that the mesh adds
its own errors: `TaskRejected` (the agent refuses this input) is never retried,
`AgentUnavailable` (what remote and network failures raise) and a plain `AgentError`
are, and the errors that mean bad input, configuration, policy or budget are not.
`transient` picks, among the retried, the failures that say nothing about the agent's
fitness for the task, which discovery does not learn from. Where LangGraph's rule misses a case
(``requests``' network errors are ``OSError``s; 408 and 429 are 4xx yet ask to try
again) this module retries them. Not retrying only skips the wasted attempts and the
backoff: the worker still offers the task to the next candidate.
"""

from __future__ import annotations

import sys

import httpx

from mesh.errors import (
    AgentNotFound,
    AgentUnavailable,
    AuditError,
    BudgetExceeded,
    ConfigError,
    DiscoveryError,
    InputError,
    MeshError,
    PolicyDenied,
    TaskRejected,
)

# Mesh errors that say the same call will fail the same way; any other MeshError
# (AgentError, ModelError, RegistryError, ...) may be transient and is retried.
_FINAL_MESH_ERRORS = (
    TaskRejected,
    InputError,
    ConfigError,
    PolicyDenied,
    BudgetExceeded,
    AgentNotFound,
    DiscoveryError,
    AuditError,
)

# LangGraph's list: bad input, bugs and local OS errors do not change on a retry.
_FINAL_ERRORS = (
    ValueError,
    TypeError,
    ArithmeticError,
    ImportError,
    LookupError,
    NameError,
    SyntaxError,
    RuntimeError,
    ReferenceError,
    StopIteration,
    StopAsyncIteration,
    OSError,
)

# HTTP statuses below 500 that ask the client to try again.
RETRY_STATUSES = frozenset({408, 429})


def retryable(exc: BaseException) -> bool:
    """True when another attempt of the same task on the same agent could succeed."""
    if isinstance(exc, MeshError):
        return not isinstance(exc, _FINAL_MESH_ERRORS)
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    status = http_status(exc)
    if status is not None:
        return retryable_status(status)
    verdict = _http_client_verdict(exc)
    if verdict is not None:
        return verdict
    return not isinstance(exc, _FINAL_ERRORS)


def transient(exc: BaseException) -> bool:
    """True when the failure came from the surroundings, not from how the agent handled the
    task: `AgentUnavailable`, a timeout, a lost connection, a network error, HTTP 5xx /
    408 / 429. Such a failure is retried but not taught to discovery."""
    if isinstance(exc, AgentUnavailable | ConnectionError | TimeoutError | httpx.TransportError):
        return True
    status = http_status(exc)
    return status is not None and retryable_status(status)


def retryable_status(status: int) -> bool:
    """5xx, 408 (request timeout) and 429 (too many requests) may pass on another try."""
    return status >= 500 or status in RETRY_STATUSES


def http_status(exc: BaseException) -> int | None:
    """The HTTP status an exception carries: httpx's and requests' ``HTTPError`` hold the
    response, the OpenAI and Anthropic clients' ``APIStatusError`` a ``status_code``."""
    for holder in (exc, getattr(exc, "response", None)):
        status = getattr(holder, "status_code", None)
        if isinstance(status, int) and 100 <= status < 600:
            return status
    return None


def _http_client_verdict(exc: BaseException) -> bool | None:
    """httpx and requests errors that carry no status; None for anything else.

    ``requests`` is looked up, not imported (the mesh does not depend on it): an
    exception of its own means it is loaded.
    """
    if isinstance(exc, httpx.HTTPError | httpx.InvalidURL):
        final = (
            httpx.UnsupportedProtocol,
            httpx.LocalProtocolError,
            httpx.TooManyRedirects,
            httpx.InvalidURL,
        )
        return not isinstance(exc, final)  # network errors, timeouts, a dropped connection
    requests = sys.modules.get("requests")
    if requests is not None and isinstance(exc, requests.RequestException):
        # requests' errors are OSErrors; its network failures and a status-less HTTPError
        # (LangGraph retries those) may pass next time, a malformed URL never does.
        return isinstance(exc, requests.ConnectionError | requests.Timeout | requests.HTTPError)
    return None

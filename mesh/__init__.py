"""Agentic Mesh: a request in plain language, finished by many specialised agents.

from mesh import Mesh
m = Mesh.local(".mesh")
print(m.run("What is 17 * 23?").answer)
"""

from mesh.core import Mesh
from mesh.errors import (
    AgentError,
    AgentNotFound,
    AgentUnavailable,
    AuditError,
    BudgetExceeded,
    ConfigError,
    DiscoveryError,
    EmbeddingError,
    InputError,
    InvalidInput,
    MeshError,
    ModelError,
    PlanError,
    PolicyDenied,
    RegistryError,
    TaskRejected,
)
from mesh.models import (
    AgentCard,
    AgentState,
    Decision,
    Envelope,
    Event,
    Match,
    Plan,
    RunResult,
    Skill,
    Task,
    TaskRequest,
    TaskResult,
)
from mesh.settings import Settings

__version__ = "0.1.0"

__all__ = [
    "AgentCard",
    "AgentError",
    "AgentNotFound",
    "AgentState",
    "AgentUnavailable",
    "AuditError",
    "BudgetExceeded",
    "ConfigError",
    "Decision",
    "DiscoveryError",
    "EmbeddingError",
    "Envelope",
    "Event",
    "InputError",
    "InvalidInput",
    "Match",
    "Mesh",
    "MeshError",
    "ModelError",
    "Plan",
    "PlanError",
    "PolicyDenied",
    "RegistryError",
    "RunResult",
    "Settings",
    "Skill",
    "Task",
    "TaskRejected",
    "TaskRequest",
    "TaskResult",
    "__version__",
]

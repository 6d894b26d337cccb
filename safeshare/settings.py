"""Settings for every safeshare process, read from the environment (prefix SAFESHARE_)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where the data lives, which databases and servers to use, and how to notify people."""

    model_config = SettingsConfigDict(env_prefix="SAFESHARE_", extra="ignore")

    home: Path = Field(
        default=Path(".safeshare"),
        description="Data directory: case database, Prefect's database, results, logs.",
    )
    database_url: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "SAFESHARE_DATABASE_URL"),
        description="Case database; SQLite under the data directory when unset.",
    )
    apprise_config: Path | None = Field(
        default=None,
        description="Apprise config file (YAML or text) with tagged services.",
    )
    prefect_port: int = Field(default=4200, ge=1, le=65535)
    deployment: str = Field(
        default="safeshare",
        description="Name of the served deployments; one stack per name.",
    )
    runner_poll_seconds: float = Field(
        default=1.0,
        gt=0,
        description="How often the serving process looks for resumed or scheduled runs.",
    )
    restart_after_seconds: float = Field(
        default=0,
        ge=0,
        description=(
            "On start, the serving process restarts runs left Running, Crashed or Failed for at "
            "least this long. 0 suits one serving process per deployment name; with several, "
            "set it above the longest time a run spends between two waits."
        ),
    )
    notify_retries: int = Field(default=3, ge=0, le=20)
    notify_retry_delay_seconds: float = Field(default=2.0, ge=0)

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def case_database_url(self) -> str:
        """The case database URL, defaulting to SQLite in the data directory."""
        if self.database_url is not None:
            return normalise_database_url(self.database_url.get_secret_value())
        return f"sqlite:///{self.home / 'cases.db'}"

    @property
    def prefect_home(self) -> Path:
        return self.home / "prefect"

    @property
    def prefect_api_url(self) -> str:
        return f"http://127.0.0.1:{self.prefect_port}/api"


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain postgresql:// URLs (the one installed)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()

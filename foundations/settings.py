"""Settings for every safeshare process: read from the environment (prefix SAFESHARE_), or put
in force by whoever runs the process (tests, benchmarks), and handed on to the processes it
starts as the same environment variables."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator

from foundations.serving_settings import ServingSettings
from foundations.sign_on_settings import SignOnSettings
from models.deadlines import rules_with
from models.escalation import DEFAULT_LADDER, check_ladder
from models.web_address import web_address_problem


class Settings(ServingSettings, SignOnSettings):
    """Where the data lives, which databases and servers to use, and how to notify people."""

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
        default=None, description="Apprise config file (YAML or text) with tagged services."
    )
    prefect_port: int = Field(default=4200, ge=1, le=65535)
    deployment: str = Field(
        default="safeshare", description="Name of the served deployments; one stack per name."
    )
    web_port: int = Field(default=8400, ge=1, le=65535, description="The web app's port.")
    #: How every process logs: text, or JSON lines for a log collector (foundations/logs.py)
    log_format: Literal["text", "json"] = "text"
    #: Where the web app listens (`safeshare up --host`): beyond 127.0.0.1 only behind TLS
    web_host: str = "127.0.0.1"
    trusted_proxies: str = Field(
        default="",
        description="Addresses or networks (comma-separated) of the reverse proxies in front of "
        "the web app, whose X-Forwarded-For the web app believes; none by default, so the "
        "address that connected is the one throttled and recorded.",
    )
    web_base_url: str | None = Field(
        default=None,
        description="Address people use to reach the web app (links are built on it); "
        "http://127.0.0.1:<web port> when unset; https when not loopback.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Signs links. When unset, a random key is kept in <home>/secret.key (0600).",
    )
    data_keys: SecretStr | None = Field(
        default=None,
        description="The keys that seal personal data in the case database, as JSON "
        '{"primary": id, "keys": {id: base64}}. When unset, <home>/data.keys (0600) holds them.',
    )
    link_ttl_hours: float = Field(default=24, gt=0, description="How long a link stays valid.")
    deadlines: dict[str, str] = Field(
        default_factory=dict,
        description="Deadline rule per kind of wait, replacing the defaults; as JSON in "
        'SAFESHARE_DEADLINES, e.g. {"confirm-receipt": "24 hours", "parents": "1 working day '
        '(setting)"}.',
    )
    escalate_every_hours: float = Field(
        default=4,
        gt=0,
        description="An overdue wait climbs one rung of its escalation ladder this often.",
    )
    escalation_ladder: list[str] = Field(
        default_factory=lambda: list(DEFAULT_LADDER),
        description="The rungs an overdue wait climbs, in order (JSON list in "
        "SAFESHARE_ESCALATION_LADDER): who-must-act, deputy-dsl, dsl, slt, agency.",
    )
    overdue_cron: str = Field(
        default="*/5 * * * *", description="When the overdue check runs (cron, served)."
    )
    retention_cron: str = Field(
        default="0 6 * * 1",
        description="When the retention review runs (cron, served): Monday mornings.",
    )
    roster_cron: str = Field(
        default="*/15 * * * *",
        description="When the roster inbox is looked at for the school information system's "
        "exports (cron, served).",
    )
    roster_inbox: Path | None = Field(
        default=None,
        description="The folder the school information system's exports are dropped in "
        "(pupils*.csv|json, staff*.csv|json), imported by the scheduled roster pickup and moved "
        "to done/ or refused/ beside them; <home>/roster-inbox when unset.",
    )
    audit_anchor_cron: str = Field(
        default="0 18 * * *",
        description="When the audit trail's head is anchored (cron, served): written to the "
        "anchor file and sent to the DSL, if the trail grew since the last anchor.",
    )
    audit_anchor_file: Path | None = Field(
        default=None,
        description="Where anchors of the audit trail are appended (keep it where whoever "
        "can rewrite the case database cannot); <home>/audit-anchors.jsonl when unset.",
    )
    audit_anchor_tag: str = Field(
        default="dsl",
        description="The Apprise tag the audit trail's anchors are sent to.",
    )
    calendar_file: Path | None = Field(
        default=None,
        description="YAML file with the setting's term dates and closure days (terms: and "
        "closures: lists of {first: YYYY-MM-DD, last: YYYY-MM-DD}).",
    )
    school_day_starts: time = Field(
        default=time(8, 30),
        description="When the school day starts (HH:MM, English time): notices due before the "
        "next school day are due then.",
    )
    local_authority_agency: str = Field(
        default="csc",
        description="The agency told when a leaver's destination is not known (the local "
        "authority's children's services).",
    )
    pdf_font: Path = Field(
        default=Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
        description="A TrueType font for child protection file documents (Debian: "
        "fonts-dejavu-core); its -Bold sibling is used for headings when present.",
    )
    notice_link_ttl_hours: float = Field(
        default=14 * 24, gt=0, description="How long a member of staff's notice link stays valid."
    )
    receipt_link_ttl_hours: float = Field(
        default=168, gt=0, description="How long an agency's link to confirm receipt stays valid."
    )
    code_ttl_hours: float = Field(
        default=24, gt=0, description="How long a one-time code for a waiting step stays valid."
    )
    #: Failed link attempts from one address or for one link, within the window, before
    #: further attempts are refused for a while.
    link_failure_limit: int = Field(default=10, ge=1)
    link_failure_window_minutes: float = Field(default=15, gt=0)
    #: Failed sign-ins for one staff id or from one address, within the window, before
    #: further attempts are refused for a while.
    sign_in_failure_limit: int = Field(default=5, ge=1)
    sign_in_failure_window_minutes: float = Field(default=15, gt=0)
    session_idle_minutes: float = Field(
        default=30, gt=0, description="A web session ends after this long unused."
    )
    session_hours: float = Field(default=12, gt=0, description="... and this long after sign-in.")
    notify_retries: int = Field(default=3, ge=0, le=20)
    #: `safeshare health` and /health say the outbox is down past this long undelivered
    outbox_late_minutes: float = Field(default=30, gt=0)
    notify_retry_delay_seconds: float = Field(default=2.0, ge=0)

    @field_validator("deadlines")
    @classmethod
    def _known_rules(cls, value: dict[str, str]) -> dict[str, str]:
        rules_with(value)  # refuses unknown kinds and rules that are not deadlines
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_addresses(cls, value: str) -> str:
        import ipaddress

        for item in _items(value):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"{item!r} is not an address or network (SAFESHARE_TRUSTED_PROXIES)"
                ) from None
        return value

    @property
    def trusted_proxy_list(self) -> list[str]:
        return _items(self.trusted_proxies)

    @model_validator(mode="after")
    def _links_over_tls(self) -> Settings:
        problem = web_address_problem(self.web_base_url, self.web_host)
        if problem:
            raise ValueError(problem)
        return self

    @field_validator("escalation_ladder")
    @classmethod
    def _known_rungs(cls, value: list[str]) -> list[str]:
        return list(check_ladder(value))

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
    def web_url(self) -> str:
        return (self.web_base_url or f"http://127.0.0.1:{self.web_port}").rstrip("/")

    @property
    def audit_anchor_path(self) -> Path:
        return (self.audit_anchor_file or self.home / "audit-anchors.jsonl").expanduser()

    @property
    def roster_inbox_path(self) -> Path:
        return (self.roster_inbox or self.home / "roster-inbox").expanduser()

    @property
    def secret_key_path(self) -> Path:
        return self.home / "secret.key"

    @property
    def prefect_home(self) -> Path:
        return self.home / "prefect"

    @property
    def prefect_api_url(self) -> str:
        return f"http://127.0.0.1:{self.prefect_port}/api"


def _items(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain postgresql:// URLs (the one installed)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def get_settings() -> Settings:
    """The process's settings: those put in force, else those the environment gives."""
    return _IN_FORCE[0] if _IN_FORCE else _from_environment()


@lru_cache(maxsize=1)
def _from_environment() -> Settings:
    return Settings()


_IN_FORCE: list[Settings] = []  # the settings put in force for this process, if any


@contextmanager
def settings_in_force(settings: Settings) -> Iterator[Settings]:
    """These settings in force for this process (every thread) while the block runs, then what
    was in force before; the data keys, the engine and the sessions follow them."""
    before = list(_IN_FORCE)
    _IN_FORCE[:] = [settings]
    try:
        yield settings
    finally:
        _IN_FORCE[:] = before


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment variables a child process reads these same settings from, secrets
    included: start it with `{**os.environ, **settings_env(settings)}`. An unset setting (None)
    is left out, so the rest of the child's environment should not set it either."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump(mode="json", exclude_none=True).items():
        alias, secret = Settings.model_fields[name].validation_alias, getattr(settings, name)
        key = alias.choices[0] if isinstance(alias, AliasChoices) else f"SAFESHARE_{name}"
        if isinstance(secret, SecretStr):
            value = secret.get_secret_value()
        env[str(key).upper()] = value if isinstance(value, str) else json.dumps(value)
    return env


def prefect_settings(settings: Settings) -> None:
    """Point this process's Prefect client at the stack's server before Prefect is imported."""
    os.environ.setdefault("PREFECT_API_URL", settings.prefect_api_url)
    os.environ.setdefault("PREFECT_HOME", str(settings.prefect_home))
    try:  # Prefect warns when it cannot make its home, as on a fresh clone's first command
        Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    except OSError:
        pass  # a read-only place: Prefect says so itself
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

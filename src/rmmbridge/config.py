"""Service configuration, read from ``RMMBRIDGE_*`` environment variables.

Every knob an operator can turn lives here, with its default and meaning; the README's
configuration table is generated from the same field descriptions (``rmmbridge config``).
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Orchestrator(StrEnum):
    direct = "direct"
    temporal = "temporal"


DEFAULT_VAR_DIR = Path("var")  # kept for older imports; the data directory is ``Settings.data_dir``


def default_data_dir() -> Path:
    """Where the SQLite database and the key file live unless told otherwise: the same place from
    every folder and every command (``$XDG_DATA_HOME/rmmbridge``, else ``~/.local/share/rmmbridge``)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "rmmbridge"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RMMBRIDGE_", extra="ignore", case_sensitive=False)

    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Folder of the SQLite database and the master key file (when DATABASE_URL and SECRET_KEY_FILE "
        "are not set). Default: $XDG_DATA_HOME/rmmbridge, else ~/.local/share/rmmbridge — the same from any folder.",
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL. Default: SQLite in DATA_DIR (rmmbridge.db); postgresql+asyncpg://user@host/db "
        "for production.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Master key for the secret store: 32 bytes, base64 (urlsafe or standard). "
        "Wins over SECRET_KEY_FILE.",
    )
    secret_key_file: Path = Field(
        default=Path(""),
        description="Key file used when SECRET_KEY is unset; created with mode 0600 on first start. "
        "Default: DATA_DIR/secret.key.",
    )
    host: str = Field(default="127.0.0.1", description="Address the web server binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port the web server binds to.")
    base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Public URL of this service, used to build webhook URLs shown to admins. `serve` publishes it "
        "to the database at start, so the UI, API and CLI all show it.",
    )
    orchestrator: Orchestrator = Field(
        default=Orchestrator.direct,
        description="Where sync jobs run: 'direct' (in-process) or 'temporal' (Temporal workers).",
    )
    temporal_address: str = Field(default="127.0.0.1:7233", description="Temporal frontend address.")
    temporal_namespace: str = Field(default="default", description="Temporal namespace.")
    temporal_task_queue: str = Field(default="rmmbridge-sync", description="Temporal task queue.")
    allow_private_provider_hosts: bool = Field(
        default=True,
        description="Allow RMM hosts on private networks (self-hosted RMMs). "
        "Link-local and metadata addresses are always refused.",
    )
    allow_insecure_provider_urls: bool = Field(
        default=False, description="Allow http:// RMM URLs (credentials would travel in clear)."
    )
    scheduler_enabled: bool = Field(
        default=True, description="Run the in-process scheduler (direct orchestrator only)."
    )
    run_lease_s: float = Field(
        default=30.0,
        ge=0.3,
        le=3600,
        description="Seconds a sync run's owner holds it without renewing; its heartbeat renews it every third "
        "of that while the work progresses. A run whose owner died is failed (direct) or resumed (temporal) "
        "this long after its last heartbeat, and a new request then starts a new run.",
    )
    run_stall_timeout_s: float = Field(
        default=600.0,
        gt=0,
        description="Seconds a sync run may go without progress (a page fetched, rows written) before its "
        "heartbeat stops and the run is given up as stuck; above a provider's slowest page with its retries.",
    )
    decode_processes: int | None = Field(
        default=None,
        ge=0,
        le=16,
        description="Worker processes that decode and normalize RMM pages (a device sync's heaviest CPU "
        "work) beside the event loop and the database writer. Default: one per CPU core beyond the first, "
        "at most 2; 0 keeps that work in a thread of the process.",
    )
    graceful_shutdown_s: float = Field(
        default=30.0,
        ge=1,
        le=3600,
        description="Seconds `serve` and `worker` take to stop on SIGTERM: runs in progress may finish in "
        "this window; the rest are handed back (resumed by another worker, or when the service is back).",
    )
    webhook_rate_limit: float = Field(
        default=500.0,
        gt=0,
        description="Webhook deliveries per second accepted per integration by each server process "
        "(bursts of three seconds' worth); more get 429 with Retry-After.",
    )
    webhook_log_days: int = Field(
        default=7, ge=1, le=3650, description="Days accepted webhook deliveries stay in the delivery log."
    )
    event_retention_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="Days events stay in the /api/v1/events feed (followers must read sooner).",
    )
    delivery_log_days: int = Field(
        default=14, ge=1, le=3650, description="Days outbound event deliveries stay in each subscription's log."
    )
    delivery_enabled: bool = Field(
        default=True,
        description="Run the event delivery loop (webhooks, NATS) in serve (direct) and worker (temporal).",
    )
    nats_url: str | None = Field(
        default=None,
        description="NATS server with JetStream (nats://host:4222): every event is published to "
        "rmmbridge.<tenant id>.<event type> on the stream RMMBRIDGE. Unset: no NATS publishing.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Log level of serve, worker and demo (other commands: warnings, or `-v`)."
    )
    log_format: Literal["json", "console"] = Field(default="console", description="Log format.")
    session_max_age_s: int = Field(default=8 * 3600, ge=60, description="Lifetime of a UI login session, in seconds.")
    secure_cookies: bool | None = Field(
        default=None,
        description="Mark cookies Secure. Default: on when BASE_URL is https.",
    )
    api_docs_require_login: bool = Field(
        default=False,
        description="Require a signed-in user or an API token for /api/docs and the OpenAPI document.",
    )
    http_header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a client has to send a request's headers (from connecting, or from its first "
        "byte on a kept-alive connection); then 408 and the connection is closed.",
    )
    http_body_timeout_s: float = Field(
        default=30.0, gt=0, description="Seconds a client has to send a request's body once its headers are in."
    )
    http_keep_alive_timeout_s: int = Field(
        default=5, ge=1, description="Seconds an idle kept-alive connection stays open between requests."
    )
    http_max_connections: int = Field(
        default=200,
        ge=1,
        description="Connections and requests in progress at once per server process; more get 503.",
    )
    http_max_header_bytes: int = Field(
        default=16 * 1024, ge=1024, description="Largest request line plus headers accepted, in bytes."
    )
    auth_failures_per_account: int = Field(
        default=5,
        ge=1,
        description="Wrong passwords for one account before each further attempt must wait "
        "(1 s, doubling up to 15 minutes; forgotten after an hour without failures).",
    )
    auth_failures_per_address: int = Field(
        default=20,
        ge=1,
        description="Failed sign-ins, unknown API tokens or unknown webhook secrets from one client address "
        "before it must wait (1 s, doubling up to 5 minutes; forgotten after an hour without failures).",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, v: object) -> object:
        return v.upper() if isinstance(v, str) else v

    @model_validator(mode="after")
    def _paths_in_data_dir(self) -> Settings:
        # Absolute, so every message can say exactly where it looked.
        self.data_dir = self.data_dir.expanduser().absolute()
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'rmmbridge.db'}"
        if self.secret_key_file == Path(""):
            self.secret_key_file = self.data_dir / "secret.key"
        return self

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite database file (``None`` for PostgreSQL or an in-memory database)."""
        if not self.is_sqlite:
            return None
        path = self.database_url.split(":///", 1)[1] if ":///" in self.database_url else ""
        path = path.split("?", 1)[0]
        return None if not path or path == ":memory:" else Path(path)

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, v: str) -> str:
        if not v:
            return v  # filled in from the data directory
        if v.startswith("postgresql://") or v.startswith("postgres://"):
            # Accept the libpq spelling operators paste; the service is async throughout.
            v = "postgresql+asyncpg://" + v.split("://", 1)[1]
        if v.startswith("sqlite:///"):
            v = "sqlite+aiosqlite:///" + v[len("sqlite:///") :]
        if not (v.startswith("sqlite+aiosqlite://") or v.startswith("postgresql+asyncpg://")):
            raise ValueError("must be a sqlite+aiosqlite:// or postgresql+asyncpg:// URL")
        return v

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, v: str) -> str:
        from rmmbridge.kit.urls import check_public_base_url

        return check_public_base_url(v)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def cookies_secure(self) -> bool:
        if self.secure_cookies is not None:
            return self.secure_cookies
        return self.base_url.startswith("https://")


class ConfigError(Exception):
    """Invalid configuration; the message is one line naming the variable."""


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning pydantic's multi-line error into one clear line per problem."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        parts = []
        for err in exc.errors():
            name = "RMMBRIDGE_" + "_".join(str(p) for p in err["loc"]).upper()
            parts.append(f"{name}: {err['msg']}")
        raise ConfigError("invalid configuration: " + "; ".join(parts)) from None

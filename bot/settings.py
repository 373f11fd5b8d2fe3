"""Every environment variable the bot reads, parsed once."""

from __future__ import annotations

import base64
import binascii
import os
import re
from functools import cached_property
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_PREFIX = "ACTIONS_SECRET_"
NEW_SECRET_HINT = (
    'python3 -c "import base64,secrets;'
    "print('whsec_'+base64.b64encode(secrets.token_bytes(32)).decode())\""
)


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=True)

    SLACK_BOT_TOKEN: str = ""
    SLACK_SIGNING_SECRET: str = ""
    SLACK_APP_TOKEN: str = ""
    SLACK_API_URL: str = "https://slack.com/api/"
    DATABASE_URL: str = "sqlite:///actions.db"
    ACTIONS_CONFIG: str = "actions.yml"
    WEBHOOK_SIGNING_SECRET: str = ""
    WEBHOOK_HEADER_PREFIX: str = "X-Actions"
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: bool = False
    PORT: int = 3000
    # /metrics: on its own port (not served on PORT then), and/or behind a bearer token.
    METRICS_PORT: int | None = Field(None, ge=1, le=65535)
    METRICS_TOKEN: str = ""
    PUBLIC_URL: str = ""
    WORKER_CONCURRENCY: int = Field(200, ge=1, le=2000)
    JOB_LEASE_SECONDS: float = Field(30.0, ge=1, le=3600)
    # An async receiver's status update is a small JSON object; larger bodies get 413.
    CALLBACK_MAX_BYTES: int = Field(256 * 1024, ge=1024, le=64 * 1024 * 1024)
    AUDIT_RETENTION_DAYS: int = Field(365, ge=1)
    # Runs one user may start of one action (N/s, N/m or N/h); `rate_limit` per action wins.
    RUN_RATE_LIMIT: str = "30/m"
    AUDIT_SIGNING_KEY: str = ""  # Ed25519, base64: `python -m bot audit keygen`
    AUDIT_SINKS: str = ""  # sink URLs, space- or comma-separated (bot/audit/sinks.py)
    # Keys the hash of API tokens (HMAC-SHA256); unset: derived from WEBHOOK_SIGNING_SECRET.
    API_TOKEN_KEY: str = ""
    # The largest JSON body the REST API reads; larger ones get 413.
    API_MAX_BYTES: int = Field(64 * 1024, ge=1024, le=16 * 1024 * 1024)
    # PagerDuty, for `approval.approvers.on_call` and `user.on_call` (a read-only REST key).
    PAGERDUTY_API_TOKEN: str = ""
    PAGERDUTY_API_URL: str = "https://api.pagerduty.com"
    # The Slack profile field (its id, e.g. Xf0MANAGER) holding a user's manager.
    MANAGER_PROFILE_FIELD: str = ""
    # CI backends (bot/backends): GitHub Actions and GitLab pipelines.
    GITHUB_API_URL: str = "https://api.github.com"
    GITHUB_TOKEN: str = ""
    GITHUB_APP_ID: str = ""
    GITHUB_APP_PRIVATE_KEY: str = ""  # PEM; `\n` escapes are read as line breaks
    GITLAB_API_URL: str = "https://gitlab.com/api/v4"
    GITLAB_TOKEN: str = ""
    # Following a CI run: the first poll after this, doubling while nothing changes, up to max.
    CI_POLL_INITIAL_SECONDS: float = Field(5.0, gt=0, le=600)
    CI_POLL_MAX_SECONDS: float = Field(60.0, gt=0, le=3600)
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    LOG_FORMAT: Literal["json", "text"] = "json"

    @field_validator("SLACK_API_URL")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @field_validator("GITHUB_API_URL", "GITLAB_API_URL")
    @classmethod
    def _ci_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http(s) URL such as https://api.github.com")
        return value.rstrip("/")

    @field_validator("GITHUB_APP_PRIVATE_KEY")
    @classmethod
    def _pem(cls, value: str) -> str:
        value = value.replace("\\n", "\n").strip()
        if value and "PRIVATE KEY-----" not in value:
            raise ValueError("expected the GitHub App's private key in PEM format")
        return value

    @model_validator(mode="after")
    def _github_app(self) -> Settings:
        if bool(self.GITHUB_APP_ID) != bool(self.GITHUB_APP_PRIVATE_KEY):
            raise ValueError("GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY go together: set both")
        return self

    @field_validator("RUN_RATE_LIMIT")
    @classmethod
    def _rate(cls, value: str) -> str:
        if not re.fullmatch(r"[1-9][0-9]{0,5}/[smh]", value.strip()):
            raise ValueError("expected runs per user and action such as 30/m (N/s, N/m or N/h)")
        return value.strip()

    @field_validator("DATABASE_URL")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql://", "postgres://", "postgresql+")):
            raise ValueError("expected sqlite:///path.db or postgresql://user@host:port/db")
        return value

    @field_validator("PUBLIC_URL")
    @classmethod
    def _public_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("expected the bot's public base URL, e.g. https://actions.example.com")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _metrics_port(self) -> Settings:
        if self.METRICS_PORT is not None and self.METRICS_PORT == self.PORT:
            raise ValueError("METRICS_PORT must differ from PORT (or be unset to use PORT)")
        return self

    @field_validator("WEBHOOK_HEADER_PREFIX")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9-]+", value):
            raise ValueError("expected a header name prefix of letters, digits and '-'")
        return value

    @field_validator("WEBHOOK_SIGNING_SECRET")
    @classmethod
    def _webhook_secret(cls, value: str) -> str:
        # Several secrets, space-separated, while rotating: the first signs, all are sent.
        for secret in value.split():
            if not secret.startswith("whsec_"):
                raise ValueError(
                    f"expected 'whsec_' + base64 of 24+ random bytes; make one: {NEW_SECRET_HINT}"
                )
            try:
                key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("the part after 'whsec_' is not valid base64") from None
            if len(key) < 24:
                raise ValueError(
                    f"the key is {len(key)} bytes; use at least 24 ({NEW_SECRET_HINT})"
                )
        return " ".join(value.split())

    @property
    def webhook_secrets(self) -> list[str]:
        """Every signing secret, newest first (more than one only while rotating)."""
        return self.WEBHOOK_SIGNING_SECRET.split()

    @property
    def webhook_secret(self) -> str:
        """The newest signing secret: it derives callback tokens and encryption keys."""
        return self.webhook_secrets[0] if self.webhook_secrets else ""

    @property
    def socket_mode(self) -> bool:
        return bool(self.SLACK_APP_TOKEN)

    @cached_property
    def template_secrets(self) -> dict[str, str]:
        """Values of ACTIONS_SECRET_<NAME>, keyed by NAME."""
        return {
            key.removeprefix(SECRET_PREFIX): value
            for key, value in os.environ.items()
            if key.startswith(SECRET_PREFIX) and key != SECRET_PREFIX and value
        }

    @property
    def audit_sinks(self) -> list[str]:
        return [url for url in re.split(r"[\s,]+", self.AUDIT_SINKS) if url]

    @property
    def audit_sink_secrets(self) -> list[str]:
        """Values of the variables the sinks name (`token_env=`, `secret_env=`)."""
        names = re.findall(r"(?:token|secret)_env=([A-Za-z_][A-Za-z0-9_]*)", self.AUDIT_SINKS)
        return [os.environ[name] for name in names if os.environ.get(name)]

    def secret_values(self) -> list[str]:
        """Every value that must never be written anywhere: the redaction list."""
        values = [
            self.SLACK_BOT_TOKEN,
            self.SLACK_SIGNING_SECRET,
            self.SLACK_APP_TOKEN,
            self.WEBHOOK_SIGNING_SECRET,
            self.METRICS_TOKEN,
            *self.webhook_secrets,
            *self.template_secrets.values(),
            self.AUDIT_SIGNING_KEY,
            self.API_TOKEN_KEY,
            self.PAGERDUTY_API_TOKEN,
            *self.audit_sink_secrets,
            self.GITHUB_TOKEN,
            self.GITHUB_APP_PRIVATE_KEY,
            self.GITLAB_TOKEN,
        ]
        return list(dict.fromkeys(v for v in values if v))

    def require_slack(self) -> None:
        """Check the tokens needed to talk to Slack, with how to get each one."""
        missing = []
        if not self.SLACK_BOT_TOKEN:
            missing.append(
                "SLACK_BOT_TOKEN (xoxb-…: your app's page → OAuth & Permissions → "
                "Bot User OAuth Token, after installing the app from manifest.yml)"
            )
        if not self.socket_mode and not self.SLACK_SIGNING_SECRET:
            missing.append(
                "SLACK_SIGNING_SECRET (Basic Information → App Credentials → Signing Secret), "
                "or SLACK_APP_TOKEN (xapp-…: Basic Information → App-Level Tokens, scope "
                "connections:write) to use Socket Mode"
            )
        if not self.WEBHOOK_SIGNING_SECRET:
            missing.append(f"WEBHOOK_SIGNING_SECRET (whsec_…; make one: {NEW_SECRET_HINT})")
        if missing:
            raise SettingsError("missing settings: " + "; ".join(missing))
        if not self.SLACK_BOT_TOKEN.startswith("xoxb-"):
            raise SettingsError("SLACK_BOT_TOKEN: expected a bot token starting with xoxb-")
        if self.socket_mode and not self.SLACK_APP_TOKEN.startswith("xapp-"):
            raise SettingsError("SLACK_APP_TOKEN: expected an app-level token starting with xapp-")


def load_settings() -> Settings:
    """Read the environment; raise SettingsError naming the first bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"]) or "settings"
        message = first["msg"].removeprefix("Value error, ")
        raise SettingsError(f"{name}: {message}") from None

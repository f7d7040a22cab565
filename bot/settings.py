"""Settings from the environment, named exactly as DESIGN.md §2. A bad value stops start-up with one line."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.db import normalise_url


class SettingsError(Exception):
    """One clear sentence about which setting is wrong."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=True)

    database_url: str = Field("sqlite+aiosqlite:///./tandem.db", alias="TANDEM_DATABASE_URL")
    host: str = Field("127.0.0.1", alias="TANDEM_HOST")
    port: int = Field(3978, alias="TANDEM_PORT", ge=1, le=65535)
    tick_seconds: float = Field(5.0, alias="TANDEM_TICK_SECONDS", gt=0, le=300)
    prepare_seconds: float = Field(120.0, alias="TANDEM_PREPARE_SECONDS", ge=0, le=3600)
    retention_days: float = Field(7.0, alias="TANDEM_RETENTION_DAYS", gt=0, le=365)
    secret_key: str | None = Field(None, alias="TANDEM_SECRET_KEY")
    # Optional: the https address the bot is reachable at, for links to the images it serves (charts).
    public_url: str | None = Field(None, alias="TANDEM_PUBLIC_URL")
    # The local chat page (bot/local_chat.py): "on", "off", or unset (on for a loopback trial only).
    local_chat: str | None = Field(None, alias="TANDEM_LOCAL_CHAT", pattern="^(on|off|)$")

    slack_signing_secret: str | None = Field(None, alias="SLACK_SIGNING_SECRET")
    slack_bot_token: str | None = Field(None, alias="SLACK_BOT_TOKEN")
    slack_client_id: str | None = Field(None, alias="SLACK_CLIENT_ID")
    slack_client_secret: str | None = Field(None, alias="SLACK_CLIENT_SECRET")
    slack_app_token: str | None = Field(None, alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field("https://slack.com/api/", alias="SLACK_API_URL")

    microsoft_app_id: str | None = Field(None, alias="MICROSOFT_APP_ID")
    microsoft_app_password: str | None = Field(None, alias="MICROSOFT_APP_PASSWORD")
    microsoft_app_tenant_id: str | None = Field(None, alias="MICROSOFT_APP_TENANT_ID")
    microsoft_app_type: str = Field("MultiTenant", alias="MICROSOFT_APP_TYPE")

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str) -> str:
        return normalise_url(value).render_as_string(hide_password=False)

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: str | None) -> str | None:
        if value and not value.startswith("xapp-"):
            raise ValueError(
                "must be an app-level token (xapp-…, Basic Information → App-Level Tokens, with the "
                "connections:write scope), not a bot or user token"
            )
        return value or None

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parsed = urlsplit(value)
        if parsed.scheme not in ("https", "http") or not parsed.netloc or parsed.query or parsed.fragment:
            raise ValueError("must be the bot's address, like https://tandem.example.org")
        return value.rstrip("/")

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_signing_secret and (self.slack_bot_token or self.slack_client_id))

    @property
    def teams_enabled(self) -> bool:
        return bool(self.microsoft_app_id) or False


def load_settings() -> Settings:
    """Read the environment; SettingsError naming the variable if a value is unusable."""
    try:
        return Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "settings"
        alias = Settings.model_fields[field].alias if field in Settings.model_fields else field
        message = str(error["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"{alias or field}: {message}") from None

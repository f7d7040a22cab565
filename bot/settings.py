"""Settings from the environment, named exactly as DESIGN.md §2. A bad value stops start-up with one line."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.db import normalise_url, sqlite_path

# botbuilder's app types (MICROSOFT_APP_TYPE), as it spells them.
APP_TYPES = ("MultiTenant", "SingleTenant", "UserAssignedMSI")
LOG_FORMATS = ("text", "json")


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
    # "text" (default) or "json": one JSON object per line per log event (docs/operations.md).
    log_format: str = Field("text", alias="TANDEM_LOG_FORMAT")

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
    # Where `tandem doctor` asks Microsoft's identity platform for a bot token (a test points it at a fake).
    microsoft_login_url: str = Field("https://login.microsoftonline.com", alias="MICROSOFT_LOGIN_URL")

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str) -> str:
        url = normalise_url(value)
        path = sqlite_path(url)
        if path is not None and not path.startswith("file:"):
            folder = Path(path).expanduser().absolute().parent
            if not folder.is_dir():
                what = "is not a folder" if folder.exists() else "does not exist"
                raise ValueError(
                    f"the folder {folder} for the SQLite database {what}; create it (mkdir -p {folder}) or "
                    "choose another path"
                )
        return url.render_as_string(hide_password=False)

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        if value.lower() not in LOG_FORMATS:
            raise ValueError(f"must be one of {', '.join(LOG_FORMATS)}, not {value!r}")
        return value.lower()

    @field_validator("microsoft_app_type")
    @classmethod
    def _app_type(cls, value: str) -> str:
        for known in APP_TYPES:
            if value.lower() == known.lower():
                return known
        raise ValueError(f"must be one of {', '.join(APP_TYPES)}, not {value!r}")

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


def _missing_partner(s: Settings) -> str | None:
    """The one line naming the variable a half-done platform configuration lacks, or None."""
    slack_any = s.slack_bot_token or s.slack_client_id or s.slack_client_secret or s.slack_app_token
    if slack_any and not s.slack_signing_secret:
        return (
            "SLACK_SIGNING_SECRET: not set (Basic Information → App Credentials → Signing Secret), "
            "but other SLACK_* variables are"
        )
    if s.slack_signing_secret and not (s.slack_bot_token or s.slack_client_id):
        return (
            "SLACK_BOT_TOKEN: not set (OAuth & Permissions → Bot User OAuth Token, xoxb-…); "
            "SLACK_SIGNING_SECRET alone does not turn Slack on (or set SLACK_CLIENT_ID and "
            "SLACK_CLIENT_SECRET for OAuth installs)"
        )
    if s.slack_client_id and not s.slack_bot_token:
        if not s.slack_client_secret:
            return (
                "SLACK_CLIENT_SECRET: not set, but SLACK_CLIENT_ID is (Basic Information → App Credentials)"
            )
        if not s.secret_key:
            return (
                "TANDEM_SECRET_KEY: required for Slack OAuth installs (it encrypts each workspace's token); "
                "make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
    if s.microsoft_app_id and s.microsoft_app_type != "UserAssignedMSI" and not s.microsoft_app_password:
        return (
            "MICROSOFT_APP_PASSWORD: not set, but MICROSOFT_APP_ID is (the app registration's client secret: "
            "Certificates & secrets); Teams stays off without it"
        )
    if s.microsoft_app_type != "MultiTenant" and s.microsoft_app_id and not s.microsoft_app_tenant_id:
        return f"MICROSOFT_APP_TENANT_ID: required with MICROSOFT_APP_TYPE={s.microsoft_app_type}"
    return None


def load_settings(*, complete: bool = False) -> Settings:
    """Read the environment; SettingsError naming the variable if a value is unusable. `complete`: also
    refuse a platform configured by halves (what `tandem serve` and `tandem doctor` need; a command that
    only writes a team file or a Teams package does not)."""
    try:
        settings = Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "settings"
        alias = Settings.model_fields[field].alias if field in Settings.model_fields else field
        message = str(error["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"{alias or field}: {message}") from None
    problem = _missing_partner(settings) if complete else None
    if problem is not None:
        raise SettingsError(problem)
    return settings

"""`tandem doctor`: check what a deployment depends on, one line each, and say what to fix.

Checks, in order: the settings (already loaded, or the line that refused them), the sealing key, the
database (reachable, migrated), Slack (`auth.test` with the bot token, at SLACK_API_URL), Teams (a bot token
from Microsoft's identity platform, at MICROSOFT_LOGIN_URL), and the public URL (`/healthz` fetched from
this machine, through whatever DNS, proxy and TLS stand in front of Tandem)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp
from sqlalchemy import text

from bot.sealing_key import key_file_for, sealer_for
from bot.settings import Settings, SettingsError

TIMEOUT = aiohttp.ClientTimeout(total=10)
BOT_FRAMEWORK_SCOPE = "https://api.botframework.com/.default"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str  # what was found, or what to fix

    def line(self) -> str:
        return f"{'ok ' if self.ok else 'FIX'}  {self.name}: {self.detail}"


async def _database(settings: Settings) -> Check:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from storage.db import create_engine
    from storage.migrate import alembic_config

    where = settings.database_url.split("@")[-1]
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            current = await connection.run_sync(
                lambda sync: set(MigrationContext.configure(sync).get_current_heads())
            )
    except Exception as exc:  # asyncpg, aiosqlite and the OS each raise their own kinds
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return Check("database", False, f"cannot reach {where}: {reason}")
    finally:
        await engine.dispose()
    wanted = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    if current != wanted:
        state = "empty" if not current else "behind"
        return Check(
            "database",
            False,
            f"{where} is reachable but {state}: run `tandem db upgrade` (or `tandem serve`)",
        )
    return Check("database", True, f"{where}, migrations up to date")


async def _slack(settings: Settings, http: aiohttp.ClientSession) -> Check | None:
    if not settings.slack_enabled:
        return None
    if not settings.slack_bot_token:
        return Check("slack", True, "OAuth installs: each workspace's token is checked when it is used")
    url = settings.slack_api_url.rstrip("/") + "/auth.test"
    headers = {"Authorization": f"Bearer {settings.slack_bot_token}"}
    try:
        async with http.post(url, headers=headers) as response:
            body = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return Check("slack", False, f"cannot reach {url}: {type(exc).__name__} {exc}".strip())
    if isinstance(body, dict) and body.get("ok"):
        return Check("slack", True, f"bot token works (workspace {body.get('team')}, bot {body.get('user')})")
    error = body.get("error") if isinstance(body, dict) else None
    return Check(
        "slack",
        False,
        f"Slack refused SLACK_BOT_TOKEN ({error or 'no answer'}): copy the Bot User OAuth Token (xoxb-…) "
        "from OAuth & Permissions again, or reinstall the app",
    )


async def _teams(settings: Settings, http: aiohttp.ClientSession) -> Check | None:
    if not settings.teams_enabled or settings.microsoft_app_type == "UserAssignedMSI":
        return None
    tenant = settings.microsoft_app_tenant_id or "botframework.com"
    url = f"{settings.microsoft_login_url.rstrip('/')}/{tenant}/oauth2/v2.0/token"
    form = {
        "grant_type": "client_credentials",
        "client_id": settings.microsoft_app_id or "",
        "client_secret": settings.microsoft_app_password or "",
        "scope": BOT_FRAMEWORK_SCOPE,
    }
    try:
        async with http.post(url, data=form) as response:
            body = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return Check("teams", False, f"cannot reach {url}: {type(exc).__name__} {exc}".strip())
    if isinstance(body, dict) and body.get("access_token"):
        return Check("teams", True, f"a bot token was issued for {settings.microsoft_app_id} ({tenant})")
    error = body.get("error") if isinstance(body, dict) else None
    description = (
        str(body.get("error_description", "")).splitlines()[0][:160] if isinstance(body, dict) else ""
    )
    return Check(
        "teams",
        False,
        f"no token ({error}: {description}): check MICROSOFT_APP_ID, MICROSOFT_APP_PASSWORD (a client secret "
        "that has not expired) and MICROSOFT_APP_TENANT_ID",
    )


async def _public_url(settings: Settings, http: aiohttp.ClientSession) -> Check:
    if not settings.public_url:
        needed = (settings.slack_enabled and not settings.slack_app_token) or settings.teams_enabled
        return Check(
            "public url",
            not needed,
            "TANDEM_PUBLIC_URL is not set: set it to the https address Slack and Teams reach this server at, "
            "so this check can try it"
            if needed
            else "not set (not needed: no platform must reach this server)",
        )
    url = f"{settings.public_url}/healthz"
    try:
        async with http.get(url) as response:
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        return Check(
            "public url",
            False,
            f"{url} is not reachable from this machine ({type(exc).__name__}: {exc}); check DNS, the reverse "
            "proxy and its TLS certificate (docs/deploy.md)",
        )
    if status != 200:
        return Check("public url", False, f"{url} answered HTTP {status}: is the proxy pointing at Tandem?")
    return Check("public url", True, f"{url} answers")


async def checks(settings: Settings) -> list[Check]:
    found = [Check("settings", True, "every variable is valid")]
    if settings.secret_key:
        found.append(Check("sealing key", True, "TANDEM_SECRET_KEY is set"))
    elif key_file_for(settings.database_url) is not None:
        found.append(Check("sealing key", True, f"kept in {key_file_for(settings.database_url)} (SQLite)"))
    else:
        try:
            sealer_for(settings)  # PostgreSQL without a key: refused, with how to make one
            found.append(Check("sealing key", True, "an in-memory key (an in-memory database)"))
        except SettingsError as exc:
            found.append(Check("sealing key", False, str(exc)))
    found.append(await _database(settings))
    async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
        for result in await asyncio.gather(
            _slack(settings, http), _teams(settings, http), _public_url(settings, http)
        ):
            if result is not None:
                found.append(result)
    return found


async def run(settings: Settings) -> tuple[str, bool]:
    """The report and whether everything is fine."""
    found = await checks(settings)
    bad = [c for c in found if not c.ok]
    summary = "All good." if not bad else f"{len(bad)} thing(s) to fix."
    return "\n".join([*(c.line() for c in found), summary]), not bad

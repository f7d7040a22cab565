"""Microsoft Teams' place in the running bot: its status line, its route and its adapter.

With MICROSOFT_APP_ID set, `POST /api/messages` validates every request's Bot Framework token. Without
it, the route is served *only on a loopback address* (TANDEM_HOST 127.0.0.1 / localhost / ::1) and with
no authentication at all, for local development with the Bot Framework Emulator or a dev tunnel; on any
other address Teams stays off, so a server that forgot its credentials never accepts forged activities.
"""

from __future__ import annotations

import ipaddress
import logging

from aiohttp import web

from adapters.teams import TeamsAdapter, TeamsConfig
from bot.runtime import Runtime
from bot.settings import Settings

log = logging.getLogger("tandem.teams")

_OFF = (
    "Teams: off. To turn it on, set MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD "
    "(and MICROSOFT_APP_TENANT_ID for a single-tenant bot)."
)


def _loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def dev_mode(settings: Settings) -> bool:
    """No credentials, listening on loopback: serve Teams without authentication (development only)."""
    return not settings.teams_enabled and _loopback(settings.host)


def status(settings: Settings) -> str:
    if settings.teams_enabled:
        tenant = settings.microsoft_app_tenant_id or "any tenant"
        return (
            f"Teams: on (bot {settings.microsoft_app_id}, {settings.microsoft_app_type}, {tenant}); "
            "Bot Framework messages at POST /api/messages."
        )
    if dev_mode(settings):
        return (
            f"Teams: local development only. WARNING: with no MICROSOFT_APP_ID, POST /api/messages accepts "
            f"UNAUTHENTICATED activities on {settings.host} (Bot Framework Emulator); never expose this "
            "port. For real Teams, set MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD (and "
            "MICROSOFT_APP_TENANT_ID for a single-tenant bot)."
        )
    return _OFF


def config(settings: Settings) -> TeamsConfig:
    return TeamsConfig(
        app_id=settings.microsoft_app_id,
        app_password=settings.microsoft_app_password,
        tenant_id=settings.microsoft_app_tenant_id,
        app_type=settings.microsoft_app_type,
    )


def adapter(runtime: Runtime, teams_config: TeamsConfig | None = None) -> TeamsAdapter | None:
    """The Teams adapter for `runtime`, or None when Teams is off (see the module doc)."""
    settings = runtime.settings
    if not settings.teams_enabled and not dev_mode(settings):
        return None
    if not settings.teams_enabled:
        log.warning(
            "Teams: NO AUTHENTICATION. MICROSOFT_APP_ID is not set, so POST /api/messages on %s accepts "
            "any activity without a token. Local development only.",
            settings.host,
        )
    return TeamsAdapter(
        teams_config or config(settings), runtime.sessions, now=runtime.clock.now, images=runtime.images
    )


def mount_off(app: web.Application, settings: Settings) -> None:
    """Teams is off: no route (an unauthenticated one must not exist on a public address)."""


def mount(app: web.Application, runtime: Runtime, teams_config: TeamsConfig | None = None) -> None:
    """`POST /api/messages` on `app` and the Teams adapter in `runtime`, when Teams is on."""
    teams = adapter(runtime, teams_config)
    if teams is not None:
        runtime.mount(app, teams)

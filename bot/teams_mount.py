"""Microsoft Teams' place in the running bot: its status line and (once built) its route and adapter."""

from __future__ import annotations

from aiohttp import web

from bot.runtime import Runtime
from bot.settings import Settings


def status(settings: Settings) -> str:
    if settings.teams_enabled:
        return (
            "Teams: credentials found, but this build has no Teams adapter yet; "
            "messages for Teams wait in the outbox."
        )
    return (
        "Teams: off. To turn it on, set MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD "
        "(and MICROSOFT_APP_TENANT_ID for a single-tenant bot)."
    )


def mount(app: web.Application, runtime: Runtime) -> None:
    """Add `POST /api/messages` to `app` and the Teams adapter to `runtime`."""

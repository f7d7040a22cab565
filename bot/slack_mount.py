"""Slack's place in the running bot: its status line and (once built) its routes and adapter."""

from __future__ import annotations

from aiohttp import web

from bot.runtime import Runtime
from bot.settings import Settings


def status(settings: Settings) -> str:
    if settings.slack_enabled:
        return (
            "Slack: credentials found, but this build has no Slack adapter yet; "
            "messages for Slack wait in the outbox."
        )
    return (
        "Slack: off. To turn it on, set SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN "
        "(or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET for OAuth installs)."
    )


def mount(app: web.Application, runtime: Runtime) -> None:
    """Add Slack's routes to `app` and its adapter to `runtime` when Slack is configured."""

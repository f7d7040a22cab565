"""Slack's place in the running bot: its status line, and its adapter built from the settings (or, when
Slack is off, routes that say why). The adapter joins the bot like any other (bot.runtime.Runtime.mount)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from aiohttp import web

from adapters.slack import SlackAdapter, Workspaces, spec
from adapters.slack.adapter import INBOUND, SlackInboundConfig
from bot.runtime import Runtime
from bot.settings import Settings
from flows.core.catalog import language_of
from flows.core.home import home_card
from flows.core.types import Card
from storage import teams

SLACK = INBOUND  # the mounted app's SlackInbound


def status(settings: Settings) -> str:
    if settings.slack_enabled:
        mode = "one workspace (SLACK_BOT_TOKEN)" if settings.slack_bot_token else "OAuth installs"
        if settings.slack_app_token:
            return (
                f"Slack: on, {mode}, in Socket Mode (SLACK_APP_TOKEN): events, commands and interactivity "
                f"arrive over a WebSocket Tandem opens, no public URL needed (POST {spec.EVENTS_PATH} "
                "answers too)."
            )
        return f"Slack: on, {mode}; events, commands and interactivity at POST {spec.EVENTS_PATH}."
    return (
        "Slack: off. To turn it on, set SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN "
        "(or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET for OAuth installs)."
    )


def off_reason(settings: Settings) -> str:
    """One line: why Slack is off and which variable turns it on."""
    if not settings.slack_signing_secret:
        return (
            "Slack is off in this Tandem: SLACK_SIGNING_SECRET is not set (set it and SLACK_BOT_TOKEN, or "
            "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET, then restart Tandem)."
        )
    return (
        "Slack is off in this Tandem: SLACK_SIGNING_SECRET is set but neither SLACK_BOT_TOKEN nor "
        "SLACK_CLIENT_ID is (set one, then restart Tandem)."
    )


def adapter(runtime: Runtime) -> SlackAdapter | None:
    """The Slack adapter for `runtime`, or None when Slack is off (`mount_off` says why at its routes).
    App Home views are built from the runtime's database when their outbox rows are sent."""
    settings = runtime.settings
    if not settings.slack_enabled:
        return None
    assert settings.slack_signing_secret is not None
    workspaces = Workspaces(
        runtime.sessions,
        runtime.clock.now,
        bot_token=settings.slack_bot_token,
        secret_key=settings.secret_key,
    )
    oauth = (
        (settings.slack_client_id, settings.slack_client_secret)
        if settings.slack_client_id and settings.slack_client_secret and not settings.slack_bot_token
        else None
    )
    inbound = SlackInboundConfig(
        signing_secret=settings.slack_signing_secret,
        app_token=settings.slack_app_token,
        oauth_client=oauth,
        no_installs=(
            "This Tandem runs in one workspace (SLACK_BOT_TOKEN); OAuth installs are off. "
            "Set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (and no SLACK_BOT_TOKEN) to turn them on."
        ),
    )
    slack = SlackAdapter(workspaces, settings.slack_api_url, images=runtime.images, inbound=inbound)
    prefix = f"{spec.COMMAND} "  # how commands are typed in Slack (SLASH_COMMAND)

    async def build_home(workspace: str | None, user: str) -> Card:
        async with runtime.sessions() as session:
            person = await teams.person_by_identity(session, "slack", user)
            help_card = runtime.engine.help_card(prefix, lang=language_of(person))
            return await home_card(session, person.id if person else None, help_card, runtime.clock.now())

    slack.home_builder = build_home
    return slack


def mount_off(app: web.Application, settings: Settings) -> None:
    """Slack is off: its routes still answer, with 503 and the reason, rather than a bare 404 that reads
    like a wrong URL to whoever is setting the app up (Slack's URL check shows the answer)."""
    reason = off_reason(settings)

    async def off(_: web.Request) -> web.Response:
        return web.Response(status=503, text=reason + "\n")

    app.router.add_post(spec.EVENTS_PATH, off)
    app.router.add_get(spec.INSTALL_PATH, off)
    app.router.add_get(spec.OAUTH_REDIRECT_PATH, off)


# slack-bolt reads these itself when its app is built and, finding both, turns on its own *file-based*
# installation and state stores (for local development, it says). Tandem keeps installations in its
# database (adapters/slack/install.py), so bolt must not see them: the settings have read them already.
BOLT_OAUTH_VARIABLES = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")


@contextlib.contextmanager
def hidden_from_bolt() -> Iterator[None]:
    """While the adapters are built and mounted (bot.app.build_app)."""
    saved = {name: os.environ.pop(name) for name in BOLT_OAUTH_VARIABLES if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def mount(app: web.Application, runtime: Runtime) -> None:
    """Slack's routes on `app`, and its adapter in `runtime` when Slack is configured."""
    slack = adapter(runtime)
    if slack is None:
        mount_off(app, runtime.settings)
        return
    with hidden_from_bolt():
        runtime.mount(app, slack)

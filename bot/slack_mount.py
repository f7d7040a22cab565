"""Slack's place in the running bot: its status line, its routes and its adapter."""

from __future__ import annotations

from aiohttp import web

from adapters.slack import SlackAdapter, SlackInbound, Workspaces, spec
from adapters.slack.oauth import OAuthInstall
from adapters.slack.socket_mode import SocketMode
from bot.runtime import Runtime
from bot.settings import Settings
from flows.core.home import home_card
from flows.core.types import Card
from storage import teams

SLACK = web.AppKey("slack", SlackInbound)
SOCKET_MODE = web.AppKey("slack_socket_mode", SocketMode)


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


def adapter(runtime: Runtime) -> SlackAdapter:
    """The Slack adapter for `runtime`: outbound calls, and App Home republished on change (Slack must be
    configured). The worker process uses it alone; `build` puts the inbound half in front of it."""
    settings = runtime.settings
    workspaces = Workspaces(
        runtime.sessions,
        runtime.clock.now,
        bot_token=settings.slack_bot_token,
        secret_key=settings.secret_key,
    )
    slack = SlackAdapter(workspaces, settings.slack_api_url, images=runtime.images)

    async def build_home(workspace: str | None, user: str) -> Card:
        async with runtime.sessions() as session:
            person = await teams.person_by_identity(session, "slack", user)
            return await home_card(
                session,
                person.id if person else None,
                runtime.engine.help_card("/tandem "),
                runtime.clock.now(),
            )

    slack.home_builder = build_home
    return slack


def build(runtime: Runtime, *, concurrency: int = 1) -> SlackInbound:
    """The Slack adapter and its inbound handler for `runtime` (Slack must be configured); acknowledged
    requests are processed `concurrency` at a time (one: this loop also answers the acks)."""
    settings = runtime.settings
    assert settings.slack_signing_secret is not None
    slack = adapter(runtime)
    assert slack.home_builder is not None
    return SlackInbound(
        signing_secret=settings.slack_signing_secret,
        workspaces=slack.workspaces,
        adapter=slack,
        handle=runtime.handle,
        home_card=slack.home_builder,
        api_url=settings.slack_api_url,
        concurrency=concurrency,
    )


def mount(app: web.Application, runtime: Runtime) -> None:
    """Add Slack's routes to `app` and its adapter to `runtime` when Slack is configured."""
    if not runtime.settings.slack_enabled:
        # Slack's routes still answer, with 503 and the reason, rather than a bare 404 that reads like a
        # wrong URL to whoever is setting the app up (Slack's URL check shows the answer).
        reason = off_reason(runtime.settings)

        async def off(_: web.Request) -> web.Response:
            return web.Response(status=503, text=reason + "\n")

        app.router.add_post(spec.EVENTS_PATH, off)
        app.router.add_get(spec.INSTALL_PATH, off)
        app.router.add_get(spec.OAUTH_REDIRECT_PATH, off)
        return
    inbound = build(runtime)
    app[SLACK] = inbound
    app.router.add_post(spec.EVENTS_PATH, inbound.http_handler)
    runtime.add_adapter(inbound.adapter)
    settings = runtime.settings
    if settings.slack_client_id and settings.slack_client_secret and not settings.slack_bot_token:
        oauth = OAuthInstall(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            workspaces=inbound.workspaces,
            sessions=runtime.sessions,
            now=runtime.clock.now,
            api_url=settings.slack_api_url,
        )
        app.router.add_get(spec.INSTALL_PATH, oauth.install)
        app.router.add_get(spec.OAUTH_REDIRECT_PATH, oauth.redirect)
    else:

        async def single(_: web.Request) -> web.Response:
            return web.Response(
                status=404,
                text="This Tandem runs in one workspace (SLACK_BOT_TOKEN); OAuth installs are off. "
                "Set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (and no SLACK_BOT_TOKEN) to turn them on.",
            )

        app.router.add_get(spec.INSTALL_PATH, single)
        app.router.add_get(spec.OAUTH_REDIRECT_PATH, single)

    socket: SocketMode | None = None
    if settings.slack_app_token:
        socket = SocketMode(inbound, settings.slack_app_token)
        app[SOCKET_MODE] = socket

        async def start(_: web.Application) -> None:
            assert socket is not None
            await socket.start()

        app.on_startup.append(start)

    async def close(_: web.Application) -> None:
        if socket is not None:  # first: no new envelopes, then finish the acknowledged ones
            await socket.stop()
        await inbound.drain()
        await inbound.adapter.close()

    app.on_cleanup.append(close)

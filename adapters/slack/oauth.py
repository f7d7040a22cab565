"""OAuth install for many workspaces: `GET /slack/install` → Slack → `GET /slack/oauth_redirect`.

The one-time `state` lives in our database (any replica may receive the redirect); the bot token is
stored encrypted with TANDEM_SECRET_KEY (`Workspaces.save_install`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from html import escape

from aiohttp import web
from slack_sdk.oauth import AuthorizeUrlGenerator
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.slack import spec
from adapters.slack.adapter import web_client
from adapters.slack.install import Workspaces
from storage import slack_install

log = logging.getLogger("tandem.slack")
STATE_LIFETIME = timedelta(minutes=10)


def _page(title: str, text: str, status: int = 200) -> web.Response:
    body = f"<!doctype html><title>{escape(title)}</title><h1>{escape(title)}</h1><p>{escape(text)}</p>"
    return web.Response(text=body, content_type="text/html", status=status)


class OAuthInstall:
    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        workspaces: Workspaces,
        sessions: async_sessionmaker[AsyncSession],
        now: Callable[[], datetime],
        api_url: str,
        authorize_url: str = "https://slack.com/oauth/v2/authorize",
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.workspaces = workspaces
        self.sessions = sessions
        self.now = now
        self.api_url = api_url
        self.generator = AuthorizeUrlGenerator(
            client_id=client_id, scopes=list(spec.BOT_SCOPES), authorization_url=authorize_url
        )

    def _redirect_uri(self, request: web.Request) -> str:
        return str(request.url.with_path(spec.OAUTH_REDIRECT_PATH).with_query(None))

    async def install(self, request: web.Request) -> web.StreamResponse:
        state = secrets.token_urlsafe(24)
        async with self.sessions() as session, session.begin():
            await slack_install.issue_state(session, state, self.now() + STATE_LIFETIME)
        url = self.generator.generate(state=state) + "&redirect_uri=" + self._redirect_uri(request)
        raise web.HTTPFound(url)

    async def redirect(self, request: web.Request) -> web.StreamResponse:
        if "error" in request.query:
            return _page("Tandem was not installed", f"Slack said: {request.query['error']}", 400)
        state, code = request.query.get("state", ""), request.query.get("code", "")
        if not state or not code:
            return _page("Tandem was not installed", "The link is missing its code or state.", 400)
        async with self.sessions() as session, session.begin():
            fresh = await slack_install.consume_state(session, state, self.now())
        if not fresh:
            return _page("Tandem was not installed", "This install link expired; start again.", 400)
        client = web_client(self.api_url)
        try:
            response = await client.api_call(
                "oauth.v2.access",
                data={
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                    "code": code,
                    "redirect_uri": self._redirect_uri(request),
                },
            )
        except Exception as exc:
            log.warning("oauth.v2.access failed: %s", exc)
            return _page("Tandem was not installed", "Slack refused the install code.", 400)
        data = response.data if isinstance(response.data, dict) else {}
        team = data.get("team") or {}
        enterprise = data.get("enterprise") or {}
        token = data.get("access_token")
        if not token:
            return _page("Tandem was not installed", "Slack returned no bot token.", 400)
        await self.workspaces.save_install(
            team_id="" if data.get("is_enterprise_install") else str(team.get("id") or ""),
            enterprise_id=str(enterprise.get("id") or ""),
            bot_token=str(token),
            team_name=team.get("name"),
            bot_user_id=data.get("bot_user_id"),
            bot_id=None,
            scopes=data.get("scope"),
            installer_user_id=(data.get("authed_user") or {}).get("id"),
        )
        return _page("Tandem is installed", "Invite @Tandem to your team's channel and type /tandem help.")

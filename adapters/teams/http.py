"""Teams' HTTP side: `POST /api/messages` and the Bot Framework authentication, on botbuilder 4.17.

We own the HTTP route instead of `CloudAdapter.process` (which in 4.17.1 answers 500 to every invoke it
handles, and 500 instead of 401 for expired tokens and unknown signing keys): the body is parsed and
checked (400 with a reason), the request authenticated (401, before anything is stored), the turn run by
the activity handler (turns.py), and the invoke response written here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
    ConfigurationServiceClientCredentialFactory,
)
from botbuilder.schema import Activity, ActivityTypes
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AuthenticateRequestResult,
    AuthenticationConstants,
    ClaimsIdentity,
    ConnectorFactory,
    ServiceClientCredentialsFactory,
    UserTokenClient,
)

from adapters import json_input
from adapters.teams.connector import ConnectorAuth
from storage.db import connection_lost

log = logging.getLogger("tandem.teams")

PATH = "/api/messages"


class BotConfiguration:
    """The attribute bag botbuilder's ConfigurationBotFrameworkAuthentication reads."""

    def __init__(
        self, app_id: str | None, app_password: str | None, app_type: str, tenant_id: str | None
    ) -> None:
        self.APP_ID = app_id
        self.APP_PASSWORD = app_password
        self.APP_TYPE = app_type
        self.APP_TENANTID = tenant_id


class _ReusedConnectors(ConnectorFactory):  # type: ignore[misc]
    """One SDK Bot Connector client per (service URL, audience), reused for every turn.

    botbuilder builds a new ConnectorClient (and a user token client) for every inbound activity, whether
    or not the turn uses it (ours never does: every Bot Connector call goes through connector.py); each
    construction costs ~5 ms of CPU in msrest's retry-policy set-up. Reusing them takes that cost off
    every turn."""

    def __init__(self, inner: ConnectorFactory, clients: dict[tuple[str, str], ConnectorClient]) -> None:
        self.inner = inner
        self.clients = clients

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        key = (service_url, audience or "")
        client = self.clients.get(key)
        if client is None:
            client = await self.inner.create(service_url, audience)
            if len(self.clients) >= 256:  # a few service URLs per cloud region: never many
                self.clients.clear()
            self.clients[key] = client
        return client


class Authentication(ConfigurationBotFrameworkAuthentication):  # type: ignore[misc]
    """The SDK's authentication (JWT validation of inbound requests), with connector clients and the user
    token client reused (see above), and the credentials for our own outbound client (`outbound_auth`)."""

    def __init__(
        self, configuration: BotConfiguration, credentials_factory: ServiceClientCredentialsFactory | None
    ) -> None:
        # the factory ConfigurationBotFrameworkAuthentication would make itself, kept for outbound_auth
        self.credentials_factory: ServiceClientCredentialsFactory = (
            credentials_factory or ConfigurationServiceClientCredentialFactory(configuration)
        )
        super().__init__(configuration, credentials_factory=self.credentials_factory)
        self.clients: dict[tuple[str, str], ConnectorClient] = {}
        self._token_clients: dict[str, UserTokenClient] = {}

    def reuse(self, factory: ConnectorFactory | None) -> ConnectorFactory | None:
        return None if factory is None else _ReusedConnectors(factory, self.clients)

    async def authenticate_request(self, activity: Activity, auth_header: str) -> AuthenticateRequestResult:
        result: AuthenticateRequestResult = await super().authenticate_request(activity, auth_header)
        result.connector_factory = self.reuse(result.connector_factory)
        return result

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        return self.reuse(super().create_connector_factory(claims_identity))

    def outbound_auth(self, app_id: str) -> ConnectorAuth:
        """The credentials the SDK's connector factory would use for a proactive call from `app_id`:
        `create_credentials(app_id, <to-channel OAuth scope>, <login endpoint>, validate_authority=True)`.
        Our configuration names no channel service and no custom endpoints, so botbuilder picks its public
        cloud settings (the login endpoint below; the scope is `get_originating_audience()`)."""
        return ConnectorAuth(
            self.credentials_factory,
            app_id,
            self.get_originating_audience(),
            AuthenticationConstants.TO_CHANNEL_FROM_BOT_LOGIN_URL_PREFIX,
            validate_authority=True,
        )

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        app_id = str(claims_identity.claims.get("aud") or claims_identity.claims.get("appid") or "")
        client = self._token_clients.get(app_id)
        if client is None:
            client = await super().create_user_token_client(claims_identity)
            self._token_clients[app_id] = client
        return client


class Endpoint:
    """`POST /api/messages`: checked, authenticated, run through `on_turn`, answered."""

    def __init__(self, auth: Authentication, on_turn: Callable[[TurnContext], Awaitable[None]]) -> None:
        self.auth = auth
        self.cloud = CloudAdapter(auth)
        self.on_turn = on_turn

    async def handle_request(self, request: web.Request) -> web.Response:
        try:
            body = json_input.load(await request.read())
        except json_input.InputError as exc:
            return _bad_request(str(exc))
        if not isinstance(body, dict):
            return _bad_request("an activity must be a JSON object")
        problem = _activity_problem(body)
        if problem:
            return _bad_request(problem)
        try:
            activity = Activity().deserialize(body)
        except Exception as exc:
            return _bad_request(f"not a Bot Framework activity: {exc}")
        auth_header = request.headers.get("Authorization", "")
        try:
            authenticated: AuthenticateRequestResult = await self.auth.authenticate_request(
                activity, auth_header
            )
        except PermissionError as exc:  # (an OSError) missing header, wrong audience or service URL, …
            log.warning("Teams: refused an activity: %s", exc)
            return web.json_response({"error": "unauthorized"}, status=401)
        except OSError as exc:  # the OpenID metadata could not be fetched: our problem, not the caller's
            log.error("Teams: cannot validate the token right now: %s", exc)
            return web.json_response({"error": "authentication is unavailable, retry"}, status=503)
        except Exception as exc:  # missing, malformed, expired, wrong audience or issuer, unknown key
            log.warning("Teams: refused an activity: %s: %s", type(exc).__name__, exc)
            return web.json_response({"error": "unauthorized"}, status=401)
        try:
            invoke: InvokeResponse | None = await self.cloud.process_activity(
                authenticated, activity, self.on_turn
            )
        except Exception as exc:
            if connection_lost(exc):
                raise  # not the activity's fault: bot/app.py answers 503 with Retry-After, and Teams retries
            log.exception("Teams: the turn for activity %s failed", activity.id)
            return web.json_response({"error": "the bot failed to handle this activity"}, status=500)
        if invoke is not None and activity.type == ActivityTypes.invoke:
            answer = _serialize(invoke.body)
            if answer is None:
                return web.Response(status=int(invoke.status))
            return web.json_response(answer, status=int(invoke.status))
        return web.Response(status=200)


def _serialize(body: Any) -> Any:
    if hasattr(body, "serialize"):
        return body.serialize()
    return body


def _bad_request(reason: str) -> web.Response:
    return web.json_response({"error": reason[:500]}, status=400)


def _activity_problem(body: dict[str, Any]) -> str | None:
    if not isinstance(body.get("type"), str) or not body["type"]:
        return "the activity has no type"
    conversation = body.get("conversation")
    if not isinstance(conversation, dict) or not isinstance(conversation.get("id"), str):
        return "the activity has no conversation id"
    sender = body.get("from")
    if not isinstance(sender, dict) or not isinstance(sender.get("id"), str):
        return "the activity has no sender (from.id)"
    if not isinstance(body.get("serviceUrl"), str) or not body["serviceUrl"].startswith(
        ("http://", "https://")
    ):
        return "the activity has no serviceUrl"
    if body.get("channelData") is not None and not isinstance(body["channelData"], dict):
        return "channelData must be an object"
    for name in ("entities", "membersAdded", "membersRemoved", "attachments"):
        if name in body and body[name] is not None and not isinstance(body[name], list):
            return f"{name} must be a list"
        if any(not isinstance(item, dict) for item in body.get(name) or []):
            return f"every item of {name} must be an object"
    problem = json_input.first_problem(body, _TYPED) or json_input.first_too_long(body, _LIMITS)
    if problem:
        return problem
    for name in ("membersAdded", "membersRemoved"):
        for member in body.get(name) or []:
            problem = json_input.first_problem(member, _MEMBER) or json_input.first_too_long(
                member, [("id", 200), ("aadObjectId", 200), ("name", 200)]
            )
            if problem:
                return f"{name}[]: {problem}"
    for entity in body.get("entities") or []:
        problem = json_input.first_problem(entity, _ENTITY) or json_input.first_too_long(
            entity, [("mentioned.id", 200), ("mentioned.aadObjectId", 200), ("mentioned.name", 200)]
        )
        if problem:
            return f"entities[]: {problem}"
    return None


# The fields turns.py, inbound.py and roster.py read, with the JSON type they read them as (botbuilder's
# deserializer keeps a wrong type as it is, and the turn would fail on it later)
_TYPED: list[tuple[str, type | tuple[type, ...]]] = [
    ("id", str),
    ("channelId", str),
    ("name", str),
    ("text", str),
    ("action", str),
    ("replyToId", str),
    ("locale", str),
    ("from.name", str),
    ("from.aadObjectId", str),
    ("recipient", dict),
    ("recipient.id", str),
    ("recipient.name", str),
    ("conversation.tenantId", str),
    ("conversation.conversationType", str),
    ("conversation.isGroup", bool),
    ("conversation.name", str),
    ("channelData.tenant", dict),
    ("channelData.tenant.id", str),
    ("channelData.team", dict),
    ("channelData.team.id", str),
    ("channelData.team.name", str),
    ("channelData.channel", dict),
    ("channelData.channel.id", str),
    ("channelData.channel.name", str),
    ("channelData.eventType", str),
]
# As long as the columns that keep them (storage/models.py, storage/teams_conversations.py)
_LIMITS: list[tuple[str, int]] = [
    ("conversation.id", 400),
    ("conversation.tenantId", 100),
    ("conversation.name", 200),
    ("from.id", 200),
    ("from.aadObjectId", 200),
    ("from.name", 200),
    ("recipient.id", 200),
    ("serviceUrl", 500),
    ("channelData.tenant.id", 100),
    ("channelData.team.id", 400),
    ("channelData.team.name", 200),
    ("channelData.channel.id", 300),
    ("channelData.channel.name", 200),
]
_MEMBER: list[tuple[str, type | tuple[type, ...]]] = [
    ("id", str),
    ("name", str),
    ("aadObjectId", str),
]
_ENTITY: list[tuple[str, type | tuple[type, ...]]] = [
    ("type", str),
    ("text", str),
    ("mentioned", dict),
    ("mentioned.id", str),
    ("mentioned.name", str),
    ("mentioned.aadObjectId", str),
]

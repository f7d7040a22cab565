"""The delivery worker's Bot Connector client: Bot Framework REST API v3 calls on aiohttp, on the event loop.

botbuilder's ConnectorClient (msrest) sends with `requests` in a thread pool: a thread hand-off and GIL
contention for every message, which at 100 messages a second on two cores made the delivery worker fall
behind; and msrest configures urllib3 to retry inside the call, sleeping in a thread, hidden from the
outbox. So every Bot Connector call Tandem makes goes through this client, on one shared aiohttp session:

- send:   `POST {serviceUrl}/v3/conversations/{conversationId}/activities` → `{"id": …}`
- update: `PUT  {serviceUrl}/v3/conversations/{conversationId}/activities/{activityId}`
- create a conversation: `POST {serviceUrl}/v3/conversations` (ConversationParameters) → `{"id": …}`
- a team's members, a page at a time: `GET {serviceUrl}/v3/conversations/{conversationId}/pagedmembers`
- one member: `GET {serviceUrl}/v3/conversations/{conversationId}/members/{memberId}`

URLs are built as msrest builds them (each path parameter quoted with `safe=""`, so the `:`, `@` and `;` of
a Teams channel id, and the `;messageid=` of a thread, travel as `%3A`, `%40`, `%3B`, `%3D`) and bodies
are the SDK's own serialization of its models. Every call is exactly one HTTP attempt (aiohttp's silent
resend of an idempotent request on a dropped connection is off): the outbox is the one retry mechanism.
Failures are classified for it: 408, 412, 429 (with `Retry-After`), 5xx and unreachable → RetryLater;
403/404 → PermanentFailure (conversation gone, app removed); any other refusal → PermanentFailure.

The bearer token comes from the same ServiceClientCredentialsFactory botbuilder uses (MSAL with the app
password by default). MSAL's `get_access_token` is blocking, so it runs in a thread, and its token is reused
for a few minutes: one thread hop every few minutes instead of one per message. With no app id (local
development), no Authorization header is sent, as botbuilder does with its anonymous credentials.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode, urljoin

import aiohttp
from botbuilder.schema import Activity, ConversationParameters, ConversationResourceResponse
from botbuilder.schema.teams import TeamsChannelAccount, TeamsPagedMembersResult
from botframework.connector.about import __version__ as _sdk_version
from botframework.connector.auth import (
    AppCredentials,
    AuthenticationConstants,
    ServiceClientCredentialsFactory,
)
from msrest.authentication import BasicTokenAuthentication
from yarl import URL

from adapters.base import PermanentFailure, RetryLater

RETRYABLE = frozenset({408, 412, 429, 500, 502, 503, 504})
GONE = frozenset({403, 404})
TIMEOUT = 15.0  # seconds for one call, connecting included
# MSAL never hands out a cached token with less than 5 minutes to live (it fetches a new one instead), so
# a token it gave us is good for at least this long, whatever the clocks of this host and of Azure AD say.
TOKEN_REUSE = 240.0
USER_AGENT = f"Microsoft-BotFramework/3.1 (BotBuilder Python/{_sdk_version}) Tandem"


def conversations_url(
    service_url: str,
    conversation_id: str | None = None,
    activity_id: str | None = None,
    *,
    collection: str = "activities",
) -> str:
    """`{serviceUrl}/v3/conversations[/{conversationId}/{collection}[/{id}]]` (collection: activities,
    members, pagedmembers), as msrest builds it: each parameter `quote(value, safe="")`, the path joined
    onto the service URL with its trailing slash."""
    if not service_url:
        raise PermanentFailure("the stored Teams conversation has no service URL")
    path = "v3/conversations"
    if conversation_id is not None:
        path += f"/{quote(conversation_id, safe='')}/{collection}"
        if activity_id is not None:
            path += f"/{quote(activity_id, safe='')}"
    return urljoin(service_url.rstrip("/") + "/", path)


class ConnectorAuth:
    """The `Authorization` header for outbound calls, from the credentials botbuilder's connector factory
    would build: `factory.create_credentials(app_id, oauth_scope, login_endpoint, validate_authority)`.

    The credentials object is made once and kept (MSAL's token cache lives inside it). Its token is fetched
    in a thread when that may block (MSAL: a cache look-up, or a request to Azure AD), then reused for
    TOKEN_REUSE seconds; `invalidate()` (after a 401) drops it. A fixed msrest token needs no thread."""

    def __init__(
        self,
        factory: ServiceClientCredentialsFactory,
        app_id: str,
        oauth_scope: str,
        login_endpoint: str,
        *,
        validate_authority: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.factory = factory
        self.app_id = app_id
        self.oauth_scope = oauth_scope
        self.login_endpoint = login_endpoint
        self.validate_authority = validate_authority
        self.clock = clock
        self._credentials: Any = None
        self._header: str | None = None
        self._until = float("-inf")  # the cached header is good until then (clock())
        self._lock = asyncio.Lock()

    async def header(self) -> str | None:
        """`Bearer <token>`, or None when there is no app id (no authentication at all)."""
        if self.clock() < self._until:
            return self._header
        async with self._lock:
            if self.clock() < self._until:  # another call fetched it while this one waited
                return self._header
            if self._credentials is None:
                self._credentials = await self.factory.create_credentials(
                    self.app_id, self.oauth_scope, self.login_endpoint, self.validate_authority
                )
            try:
                header, reuse = await self._fetch(self._credentials)
            except OSError as exc:  # MSAL's PermissionError (Azure AD said no), requests' connection errors
                raise RetryLater(f"cannot get a token for the Bot Connector: {exc}") from exc
            self._header, self._until = header, self.clock() + reuse
            return header

    def invalidate(self) -> None:
        self._until = float("-inf")

    @staticmethod
    async def _fetch(credentials: Any) -> tuple[str | None, float]:
        """The header and how long it may be reused."""
        if isinstance(credentials, AppCredentials):
            app_id = credentials.microsoft_app_id
            if not app_id or app_id == AuthenticationConstants.ANONYMOUS_SKILL_APP_ID:
                return None, float("inf")  # botbuilder's anonymous credentials: no header
            token = await asyncio.to_thread(credentials.get_access_token)
            return f"Bearer {token}", TOKEN_REUSE
        if type(credentials) is BasicTokenAuthentication:  # a token given as is: nothing to fetch
            return f"{credentials.scheme} {credentials.token['access_token']}", float("inf")
        # any other msrest Authentication: the header it would put on a requests session, off the loop
        session = await asyncio.to_thread(credentials.signed_session)
        try:
            value = session.headers.get("Authorization")
        finally:
            session.close()
        return (str(value) if value else None), TOKEN_REUSE


class BotConnector:
    """Send, update and create-conversation calls on one aiohttp session; see the module doc."""

    def __init__(self, auth: ConnectorAuth, *, timeout: float = TIMEOUT) -> None:
        self.auth = auth
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    async def send(self, service_url: str, conversation_id: str, activity: Activity) -> str | None:
        """Post `activity` at the end of the conversation (a `;messageid=` id: into that thread); the new
        message's id, if Teams gave one."""
        data = await self._call("POST", conversations_url(service_url, conversation_id), activity.serialize())
        return _resource_id(data)

    async def update(
        self, service_url: str, conversation_id: str, activity_id: str, activity: Activity
    ) -> str | None:
        """Replace the message `activity_id` with `activity`."""
        url = conversations_url(service_url, conversation_id, activity_id)
        return _resource_id(await self._call("PUT", url, activity.serialize()))

    async def create_conversation(
        self, service_url: str, parameters: ConversationParameters
    ) -> ConversationResourceResponse:
        """Open a conversation (a personal chat: `is_group=False` and one member); its id is in `.id`."""
        data = await self._call("POST", conversations_url(service_url), parameters.serialize())
        created = ConversationResourceResponse().deserialize(data or {})
        if not created.id:
            raise RetryLater("the Bot Connector created a conversation without an id")
        return created

    async def paged_members(
        self,
        service_url: str,
        conversation_id: str,
        continuation_token: str | None = None,
        page_size: int | None = None,
    ) -> TeamsPagedMembersResult:
        """One page of a team's (or a group chat's) members; `.continuation_token` asks for the next."""
        query = {
            k: v
            for k, v in (("pageSize", page_size), ("continuationToken", continuation_token))
            if v is not None
        }
        url = conversations_url(service_url, conversation_id, collection="pagedmembers")
        if query:
            url += "?" + urlencode(query, quote_via=quote, safe="")
        page: TeamsPagedMembersResult = TeamsPagedMembersResult().deserialize(
            await self._call("GET", url, None) or {}
        )
        return page

    async def member(self, service_url: str, conversation_id: str, member_id: str) -> TeamsChannelAccount:
        """One member of a conversation (its Azure AD id, name and email)."""
        url = conversations_url(service_url, conversation_id, member_id, collection="members")
        data = await self._call("GET", url, None)
        found: TeamsChannelAccount = TeamsChannelAccount().deserialize(data or {})
        return found

    @property
    def closed(self) -> bool:
        return self._closed

    async def close(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RetryLater("the Teams adapter is shutting down")
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
            one_attempt(self._session)
        return self._session

    async def _call(self, method: str, url: str, body: Any) -> Any:
        """One HTTP request (`body` None: none); the parsed JSON answer of a 2xx (None if it has none), else
        the failure."""
        session = self._client()
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
            data = json.dumps(body).encode()
        authorization = await self.auth.header()
        if authorization:
            headers["Authorization"] = authorization
        try:
            request = session.request(method, URL(url, encoded=True), data=data, headers=headers)
            async with request as response:
                status = response.status
                retry_after = response.headers.get("Retry-After")
                raw = await response.read()
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise RetryLater(f"cannot reach the Bot Connector: {str(exc) or type(exc).__name__}") from exc
        if 200 <= status < 300:
            return _json(raw)
        if status in RETRYABLE:
            raise RetryLater(f"Teams answered {status}", _seconds(retry_after))
        if status in GONE:
            raise PermanentFailure(
                f"Teams answered {status}: the conversation is gone or the app was removed"
            )
        if status == 401:  # our token, refused: fetch a fresh one for the next call
            self.auth.invalidate()
        raise PermanentFailure(f"Teams refused the message ({status}): {_error(raw)}")


def one_attempt(session: aiohttp.ClientSession) -> aiohttp.ClientSession:
    """Turn off aiohttp's silent second attempt: on a dropped keep-alive connection it resends an idempotent
    request (a PUT: a card update) once, unasked; the outbox is the one retry mechanism. aiohttp has no
    public switch for it (3.10 to 3.14); its own test client sets the same private attribute. This changes
    a dependency's object in place, so tests/teams/test_connector.py checks that the attribute still
    exists with its default, and that a dropped connection is one connection, on the aiohttp installed."""
    session._retry_connection = False
    return session


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _resource_id(data: Any) -> str | None:
    """A ResourceResponse's id (the message reference we keep)."""
    value = data.get("id") if isinstance(data, dict) else None
    return str(value) if value else None


def _seconds(raw: str | None) -> float | None:
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None


def _error(raw: bytes) -> str:
    """The Bot Connector's ErrorResponse (`{"error": {"code", "message"}}`), or the start of the body."""
    data = _json(raw)
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        return f"{error.get('code') or 'error'}: {error.get('message') or ''}"[:500]
    return raw[:500].decode("utf-8", "replace") or "no details"

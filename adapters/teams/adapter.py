"""The Microsoft Teams adapter: `POST /api/messages` in, Bot Connector calls out, on botbuilder 4.17.

Inbound, we own the HTTP route instead of `CloudAdapter.process` (which in 4.17.1 answers 500 to every
invoke it handles, and 500 instead of 401 for expired tokens and unknown signing keys): the body is parsed
and checked (400 with a reason), the request authenticated (401, before anything is stored), the turn
run by a TeamsActivityHandler that translates the activity into a neutral Event for the engine, and the
invoke response written here. Replies go out through the outbox, not inside the turn.

Outbound (the delivery worker's `send` / `update`), every message is proactive: posted with a stored
conversation reference, or into a new personal chat created in the tenant for a person who has never
written to the bot. Those calls go through our aiohttp Bot Connector client (connector.py), not botbuilder's
msrest client, which sends with `requests` in a thread pool. Sends are paced per conversation (Teams allows
about 7 per second); 429, 412, 5xx and timeouts are `RetryLater`, a conversation that is gone (the app was
removed) a `PermanentFailure`. Inside inbound turns (a form shown in reply, roster reads) the SDK's own
connector client is still used.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.core.teams import TeamsActivityHandler, TeamsInfo
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
    ConfigurationServiceClientCredentialFactory,
)
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    Attachment,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
)
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AuthenticateRequestResult,
    AuthenticationConstants,
    ClaimsIdentity,
    ConnectorFactory,
    ServiceClientCredentialsFactory,
    UserTokenClient,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from urllib3 import Retry

from adapters.base import PermanentFailure
from adapters.images import Images
from adapters.teams import inbound
from adapters.teams.cards import CONTENT_TYPE, render_card, render_form, with_images
from adapters.teams.connector import BotConnector, ConnectorAuth
from flows.core.types import (
    ActionEvent,
    Actor,
    Card,
    Event,
    Form,
    Handle,
    InstalledEvent,
    MemberJoinedEvent,
)
from storage import teams_conversations as store

log = logging.getLogger("tandem.teams")


@dataclass(frozen=True)
class TeamsConfig:
    """The bot's Azure registration. No app id: local development, no authentication at all."""

    app_id: str | None = None
    app_password: str | None = None
    tenant_id: str | None = None
    app_type: str = "MultiTenant"
    # Tests and special clouds: who mints outbound tokens (default: MSAL with the app password).
    credentials_factory: ServiceClientCredentialsFactory | None = None
    sends_per_second: float = 7.0

    @property
    def authenticated(self) -> bool:
        return bool(self.app_id)


class _BotConfiguration:
    """The attribute bag botbuilder's ConfigurationBotFrameworkAuthentication reads."""

    def __init__(self, config: TeamsConfig) -> None:
        self.APP_ID = config.app_id
        self.APP_PASSWORD = config.app_password
        self.APP_TYPE = config.app_type
        self.APP_TENANTID = config.tenant_id


def _one_try(client: ConnectorClient) -> ConnectorClient:
    """Make every call of the SDK's Bot Connector client a single HTTP attempt. (The delivery worker no
    longer uses it, see connector.py; inbound turns still do: a form shown in reply, roster and member
    reads.) msrest sends with `requests`, whose urllib3 `Retry` msrest configures for 3 retries with
    back-off on 408 and 5xx (502, 504, …) and on connection errors; under urllib3 2 that applies to PUT and
    reconnects of any verb, not POST (msrest still sets urllib3 1's `method_whitelist`). Those retries
    sleep in a thread inside the call and double the load on a Teams that is shedding it; a turn is
    better off failing at once. The client's requests sessions already hold msrest's urllib3 `Retry`
    object (one per client), so it is changed in place rather than replaced."""
    policy: Retry = client.config.retry_policy.policy
    policy.total = 0  # and no connect / read / status counts of its own: the first failure is final
    policy.connect = policy.read = policy.status = policy.other = None
    policy.status_forcelist = (
        frozenset()
    )  # a 5xx response is returned, for HttpOperationError with its status
    policy.raise_on_status = False
    policy.respect_retry_after_header = False
    return client


class _ReusedConnectors(ConnectorFactory):  # type: ignore[misc]
    """One SDK Bot Connector client per (service URL, audience), reused for every turn.

    botbuilder builds a new ConnectorClient (and a user token client) for every inbound activity; each
    construction costs ~5 ms of CPU in msrest's retry-policy set-up and opens a new HTTP connection.
    Reusing them keeps connections alive and takes that cost off every turn; the credentials inside still
    fetch and refresh their tokens as before."""

    def __init__(self, inner: ConnectorFactory, clients: dict[tuple[str, str], ConnectorClient]) -> None:
        self.inner = inner
        self.clients = clients

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        key = (service_url, audience or "")
        client = self.clients.get(key)
        if client is None:
            client = _one_try(await self.inner.create(service_url, audience))
            if len(self.clients) >= 256:  # a few service URLs per cloud region: never many
                self.clients.clear()
            self.clients[key] = client
        return client


class _Authentication(ConfigurationBotFrameworkAuthentication):  # type: ignore[misc]
    """The SDK's authentication, with connector clients and the user token client reused (see above), and
    the credentials for our own outbound client (`outbound_auth`)."""

    def __init__(
        self, configuration: Any, credentials_factory: ServiceClientCredentialsFactory | None
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


class ConversationPacer:
    """At most `rate` sends per second into any one conversation: a send waits for its slot."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.clock = clock
        self.sleep = sleep
        self._next: dict[str, float] = {}

    async def wait(self, conversation_id: str) -> None:
        if not self.interval:
            return
        now = self.clock()
        slot = max(now, self._next.get(conversation_id, 0.0))
        self._next[conversation_id] = slot + self.interval
        if len(self._next) > 10_000:  # forget conversations that are long idle
            self._next = {k: v for k, v in self._next.items() if v > now}
        if slot > now:
            await self.sleep(slot - now)


def _serialize(body: Any) -> Any:
    if hasattr(body, "serialize"):
        return body.serialize()
    return body


class TeamsAdapter:
    platform = "teams"

    def __init__(
        self,
        config: TeamsConfig,
        sessions: async_sessionmaker[AsyncSession],
        handle: Handle,
        *,
        now: Callable[[], datetime] | None = None,
        images: Images | None = None,
    ) -> None:
        self.config = config
        self.images = images
        self.sessions = sessions
        self.handle = handle
        self.now = now or (lambda: datetime.now(UTC))
        self.auth = _Authentication(_BotConfiguration(config), config.credentials_factory)
        self.cloud = CloudAdapter(self.auth)
        self.bot = TandemTeamsBot(self)
        self.pacer = ConversationPacer(config.sends_per_second)
        # the delivery worker's sends, updates and new personal chats (one aiohttp session)
        self.connector = BotConnector(self.auth.outbound_auth(self._app_id()))
        # (conversation, service url, sender) already stored by this process: one write per first contact
        self._known: set[tuple[str, str, str]] = set()
        # Read-through caches that keep the database off the hot path (SQLite serialises every
        # transaction): where a delivery target posts, and which id a Teams person goes by.
        self._targets: dict[tuple[Any, ...], tuple[dict[str, Any], str]] = {}
        self._people: dict[tuple[str, ...], tuple[str, float]] = {}

    # ------------------------------------------------------------ inbound: POST /api/messages

    async def handle_request(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError) as exc:
            return _bad_request(f"the body is not JSON: {exc}")
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
                authenticated, activity, self.bot.on_turn
            )
        except Exception:
            log.exception("Teams: the turn for activity %s failed", activity.id)
            return web.json_response({"error": "the bot failed to handle this activity"}, status=500)
        if invoke is not None and activity.type == ActivityTypes.invoke:
            body = _serialize(invoke.body)
            if body is None:
                return web.Response(status=int(invoke.status))
            return web.json_response(body, status=int(invoke.status))
        return web.Response(status=200)

    async def run(self, event: Event) -> Form | None:
        """Hand an event to the engine. (On SQLite, the turns' transactions queue on storage's write gate
        with every other writer in this process, in order, instead of in SQLite's busy handler.)"""
        return await self.handle(event)

    async def remember(self, activity: Activity) -> None:
        """Store the activity's conversation reference (first contact, install), once per process."""
        try:
            place = inbound.where(activity)
        except ValueError:
            return
        service_url = activity.service_url or ""
        sender = activity.from_property
        known = (place.address, service_url, sender.id if sender is not None else "")
        if not service_url or known in self._known:
            return
        reference = TurnContext.get_conversation_reference(activity)
        reference.activity_id = None
        reference.conversation = ConversationAccount(
            id=place.address,
            is_group=place.kind != "personal",
            conversation_type=place.kind,
            tenant_id=place.tenant_id or None,
        )
        ids = inbound.user_ids(activity) if place.kind == "personal" else []
        async with self.sessions() as session, session.begin():
            await store.save_conversation(
                session,
                conversation_id=place.address,
                kind=place.kind,
                tenant_id=place.tenant_id,
                service_url=service_url,
                reference=reference.serialize(),
                now=self.now(),
                team_id=place.team_id,
                user_id=sender.id if sender is not None and place.kind == "personal" else None,
                aad_object_id=sender.aad_object_id
                if sender is not None and place.kind == "personal"
                else None,
            )
            if ids:
                await store.remember_dm_address(session, ids, place.address)
            if sender is not None and sender.id and place.kind != "personal":
                # the sender's Teams id beside their AAD id: a DM to them can be opened by either
                entry = store.RosterEntry(sender.id, sender.aad_object_id, sender.name, None)
                await store.save_roster(
                    session, place.team_id or place.address, place.tenant_id, [entry], self.now()
                )
        self._known.add(known)
        self._targets.clear()  # a new or refreshed reference: resolve targets afresh

    def forget(self, address: str) -> None:
        self._known = {k for k in self._known if k[0] != address}
        self._targets.clear()

    async def user_id(self, activity: Activity) -> str:
        """The id a team file used for the sender (AAD object id or "29:…"), else the AAD object id."""
        return await self.resolve_user(inbound.user_ids(activity))

    async def resolve_user(self, ids: list[str] | tuple[str, ...]) -> str:
        """Our id for a Teams person named by some of their ids: the one a team file used, else their
        Azure AD object id (looked up in the roster when only the "29:…" id is known), else what we have."""
        ids = [i for i in ids if i]
        if not ids:
            return ""
        key = tuple(ids)
        cached = self._people.get(key)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        async with self.sessions() as session:
            if not any(not i.startswith("29:") for i in ids):
                member = await store.roster_member(session, ids)
                if member is not None and member.aad_object_id:
                    ids = [member.aad_object_id, *ids]
            known = await store.known_identity(session, ids)
        if len(self._people) > 50_000:
            self._people.clear()
        # a person the team files name is stable; someone not (yet) named is looked up again soon
        self._people[key] = (known or ids[0], time.monotonic() + (600.0 if known else 30.0))
        return known or ids[0]

    async def mentioned(self, activity: Activity) -> tuple[str, tuple[Actor, ...]]:
        """The text with people's mentions as `@<n>`, and those people as Actors in our id convention."""
        text, people = inbound.mentions(activity)
        actors = [Actor("teams", await self.resolve_user(p.ids), p.name) for p in people]
        return text, tuple(actors)

    # ------------------------------------------------------------ outbound: the delivery worker

    async def send(self, target: dict[str, Any], card: Card) -> str | None:
        reference, conversation_id = await self._resolve(target)
        activity = await self._card_activity(card)
        if reference is None:
            return await self._create_personal(target, activity)
        return await self._post(reference, conversation_id, activity)

    async def update(self, target: dict[str, Any], ref: str, card: Card) -> str | None:
        reference, conversation_id = await self._resolve(target)
        if reference is None:
            raise PermanentFailure("no Teams conversation to update the message in")
        activity = await self._card_activity(card)
        _address(activity, reference, conversation_id)
        activity.id = ref
        await self.pacer.wait(conversation_id)
        await self.connector.update(reference.service_url, conversation_id, ref, activity)
        return ref

    async def close(self) -> None:
        """Close the outbound HTTP session (the app's cleanup calls this)."""
        await self.connector.close()

    async def _card_activity(self, card: Card) -> Activity:
        """The message for a card; a stored chart, read from the database now, goes inline, as a link, or
        as a line (see with_images)."""
        if self.images is not None:
            content = with_images(card, await self.images.of_card(card), self.images.link)
        else:
            content = with_images(card, {})
        return Activity(
            type=ActivityTypes.message,
            summary=card.summary,
            attachments=[Attachment(content_type=CONTENT_TYPE, content=content)],
        )

    def _app_id(self) -> str:
        return self.config.app_id or ""

    async def _resolve(self, target: dict[str, Any]) -> tuple[ConversationReference | None, str]:
        """The stored reference to post with, and the conversation id to post to. (None, "") for a person
        who has no personal chat with the bot yet. Remembered until a reference changes in this process
        (a conversation the app was removed from elsewhere answers 403/404: a permanent failure anyway)."""
        key = tuple(str(target.get(k) or "") for k in ("user", "private_to", "direct", "address", "thread"))
        cached = self._targets.get(key)
        if cached is not None:
            return ConversationReference().deserialize(cached[0]), cached[1]
        reference, conversation_id = await self._lookup(target)
        if reference is not None:
            if len(self._targets) > 10_000:
                self._targets.clear()
            self._targets[key] = (reference.serialize(), conversation_id)
        return reference, conversation_id

    async def _lookup(self, target: dict[str, Any]) -> tuple[ConversationReference | None, str]:
        person = target.get("user")
        private = target.get("private_to") if not target.get("direct") else None
        async with self.sessions() as session:
            if person or private:  # a DM; a private reply in a channel goes to the person's chat too
                user = str(person or private)
                row = None
                if target.get("address") and person:
                    row = await store.conversation(session, str(target["address"]))
                if row is None:
                    row = await store.personal_conversation(session, [user])
                if row is None:
                    return None, ""
                return ConversationReference().deserialize(row.reference), row.conversation_id
            address = str(target.get("address") or "")
            if not address:
                raise PermanentFailure(f"a Teams target needs an address or a user: {target}")
            row = await store.conversation(session, address)
            if row is not None and not row.installed:
                raise PermanentFailure(f"Tandem was removed from the Teams conversation {address}")
            if row is None:  # a channel of a team Tandem is in, never posted to yet: same tenant, same URL
                row = await store.any_conversation(session, self.config.tenant_id)
                if row is None or not _looks_like_channel(address):
                    raise PermanentFailure(
                        f"Tandem has not been added to the Teams team of {address} yet: "
                        "add the app to the team"
                    )
                reference = ConversationReference().deserialize(row.reference)
                reference.conversation = ConversationAccount(
                    id=address, is_group=True, conversation_type="channel", tenant_id=row.tenant_id or None
                )
            else:
                reference = ConversationReference().deserialize(row.reference)
        thread = target.get("thread")
        conversation_id = f"{address};messageid={thread}" if thread else address
        return reference, conversation_id

    async def _post(
        self, reference: ConversationReference, conversation_id: str, activity: Activity
    ) -> str | None:
        _address(activity, reference, conversation_id)
        await self.pacer.wait(conversation_id)
        return await self.connector.send(reference.service_url, conversation_id, activity)

    async def _create_personal(self, target: dict[str, Any], activity: Activity) -> str | None:
        """Open a personal chat with someone who never wrote to the bot, in their tenant, and post."""
        user = str(target.get("user") or target.get("private_to") or "")
        async with self.sessions() as session:
            member = await store.roster_member(session, [user])
            tenant = member.tenant_id if member is not None else self.config.tenant_id
            row = await store.any_conversation(session, tenant)
            if row is None and tenant:
                row = await store.any_conversation(session)
        if row is None:
            raise PermanentFailure(
                f"cannot reach Teams user {user}: Tandem is not installed in any of their teams yet"
            )
        known = ConversationReference().deserialize(row.reference)
        member_id = member.user_id if member is not None else user
        tenant_id = row.tenant_id or tenant or None
        parameters = ConversationParameters(
            is_group=False,
            bot=known.bot,
            members=[ChannelAccount(id=member_id)],
            tenant_id=tenant_id,
            channel_data={"tenant": {"id": tenant_id}} if tenant_id else None,
        )
        # as botbuilder's create_conversation did: create the chat, then post into it (two calls)
        created = await self.connector.create_conversation(row.service_url, parameters)
        conversation_id = str(created.id)
        activity.conversation = ConversationAccount(id=conversation_id, tenant_id=tenant_id)
        activity.from_property = known.bot
        activity.recipient = ChannelAccount(id=member_id)
        activity.service_url = row.service_url
        activity.channel_id = "msteams"
        ref = await self.connector.send(row.service_url, conversation_id, activity)
        reference = ConversationReference(
            bot=known.bot,
            user=ChannelAccount(id=member_id),
            conversation=ConversationAccount(
                id=conversation_id, conversation_type="personal", tenant_id=tenant_id
            ),
            channel_id="msteams",
            service_url=row.service_url,
        )
        async with self.sessions() as session, session.begin():
            await store.save_conversation(
                session,
                conversation_id=conversation_id,
                kind="personal",
                tenant_id=tenant_id or "",
                service_url=row.service_url,
                reference=reference.serialize(),
                now=self.now(),
                user_id=member_id,
                aad_object_id=member.aad_object_id if member is not None else None,
            )
            await store.remember_dm_address(session, [user, member_id], conversation_id)
        return ref


def _looks_like_channel(address: str) -> bool:
    return address.startswith("19:")


def _address(activity: Activity, reference: ConversationReference, conversation_id: str) -> None:
    conversation = reference.conversation
    activity.conversation = ConversationAccount(
        id=conversation_id,
        is_group=conversation.is_group if conversation is not None else None,
        conversation_type=conversation.conversation_type if conversation is not None else None,
        tenant_id=conversation.tenant_id if conversation is not None else None,
    )
    activity.from_property = reference.bot
    activity.recipient = reference.user
    activity.service_url = reference.service_url
    activity.channel_id = reference.channel_id or "msteams"
    activity.reply_to_id = None


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
    for name in ("channelData", "value"):
        if (
            name in body
            and body[name] is not None
            and name == "channelData"
            and not isinstance(body[name], dict)
        ):
            return f"{name} must be an object"
    for name in ("entities", "membersAdded", "membersRemoved", "attachments"):
        if name in body and body[name] is not None and not isinstance(body[name], list):
            return f"{name} must be a list"
    return None


class TandemTeamsBot(TeamsActivityHandler):  # type: ignore[misc]
    """Teams activities → neutral Events for the engine. Answers go through the outbox."""

    def __init__(self, adapter: TeamsAdapter) -> None:
        super().__init__()
        self.tandem = adapter

    async def on_turn(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if activity.type in (ActivityTypes.message, ActivityTypes.invoke, ActivityTypes.installation_update):
            await self.tandem.remember(activity)
        await super().on_turn(turn_context)

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        user_id = await self.tandem.user_id(activity)
        event: Event
        if isinstance(activity.value, dict):
            if await self._refused(turn_context, activity.value):
                return
            event = inbound.action_event(activity, user_id, activity.value)  # Action.Submit / messageBack
        else:
            text, mentioned = await self.tandem.mentioned(activity)
            event = inbound.command_event(activity, user_id, mentioned, text)
        form = await self.tandem.run(event)
        if form is not None:  # a form must be shown now: as a card in this conversation
            await turn_context.send_activity(
                Activity(
                    type=ActivityTypes.message,
                    summary=form.title,
                    attachments=[Attachment(content_type=CONTENT_TYPE, content=render_form(form))],
                )
            )

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        if turn_context.activity.name == "adaptiveCard/action":
            return await self._card_action(turn_context)
        return await super().on_invoke_activity(turn_context)

    async def _card_action(self, turn_context: TurnContext) -> InvokeResponse:
        """`Action.Execute`: the engine runs the action at once; a Form it opens is the invoke's answer (the
        card is replaced by the input card), otherwise a short acknowledgement. Our SDK's
        AdaptiveCardInvokeResponse cannot carry a string value, so the body is written here."""
        activity = turn_context.activity
        value = activity.value if isinstance(activity.value, dict) else {}
        action = value.get("action")
        if not isinstance(action, dict):
            return InvokeResponse(
                status=400,
                body={
                    "statusCode": 400,
                    "type": "application/vnd.microsoft.error",
                    "value": {"code": "BadRequest", "message": "the invoke has no action"},
                },
            )
        refused = await self._refused(turn_context, action.get("data"))
        if refused is not None:
            body = {"statusCode": 200, "type": "application/vnd.microsoft.activity.message", "value": refused}
            return InvokeResponse(status=200, body=body)
        user_id = await self.tandem.user_id(activity)
        verb = action.get("verb")
        event: ActionEvent = inbound.action_event(
            activity, user_id, action.get("data"), str(verb) if verb else None
        )
        form = await self.tandem.run(event)
        if form is not None:
            body = {"statusCode": 200, "type": CONTENT_TYPE, "value": render_form(form)}
        else:
            body = {
                "statusCode": 200,
                "type": "application/vnd.microsoft.activity.message",
                "value": "Got it.",
            }
        return InvokeResponse(status=200, body=body)

    async def _refused(self, turn_context: TurnContext, data: Any) -> str | None:
        """A form submitted with inputs its rules refuse: reply with what is wrong (nothing is recorded) and
        return the reply's summary; None when the submit may go on."""
        card = inbound.refused(data)
        if card is None:
            return None
        content = render_card(card)
        await turn_context.send_activity(
            Activity(
                type=ActivityTypes.message,
                summary=card.summary,
                attachments=[Attachment(content_type=CONTENT_TYPE, content=content)],
            )
        )
        return card.summary

    async def on_conversation_update_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        bot_id = activity.recipient.id if activity.recipient is not None else None
        place = inbound.where(activity)
        added = activity.members_added or []
        removed = activity.members_removed or []
        if any(m.id == bot_id for m in removed):
            async with self.tandem.sessions() as session, session.begin():
                if place.kind == "channel" and place.team_id:
                    await store.mark_team_uninstalled(session, place.team_id)
                await store.mark_uninstalled(session, [place.address])
            self.tandem.forget(place.address)
            return
        await self.tandem.remember(activity)
        installer = await self.tandem.user_id(activity)
        if any(m.id == bot_id for m in added):
            await self.tandem.run(
                InstalledEvent(
                    inbound.actor(activity, installer),
                    place.conversation(),
                    idempotency_key=inbound.idempotency_key(activity),
                )
            )
            await self._sync_roster(turn_context, place)
        people = [m for m in added if m.id and m.id != bot_id]
        if people:
            await self._record_members(turn_context, place, people)
        for member in people:
            ids = [i for i in (member.aad_object_id, member.id) if i]
            async with self.tandem.sessions() as session:
                user = await store.known_identity(session, ids) or ids[0]
            await self.tandem.run(
                MemberJoinedEvent(
                    Actor("teams", user, member.name),
                    place.conversation(),
                    idempotency_key=f"{inbound.idempotency_key(activity)}:{member.id}"[:300],
                )
            )

    async def on_installation_update(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        place = inbound.where(activity)
        if (activity.action or "").startswith("remove"):
            async with self.tandem.sessions() as session, session.begin():
                await store.mark_uninstalled(session, [place.address])
            self.tandem.forget(place.address)
            return
        installer = await self.tandem.user_id(activity)
        await self.tandem.run(
            InstalledEvent(
                inbound.actor(activity, installer),
                place.conversation(),
                idempotency_key=inbound.idempotency_key(activity),
            )
        )
        await self._sync_roster(turn_context, place)

    async def _record_members(
        self, turn_context: TurnContext, place: inbound.Where, members: list[ChannelAccount]
    ) -> None:
        """People added to a team (or group chat) after the install join its roster: their Teams ids and
        names from the activity, and their Azure AD id and email from `TeamsInfo.get_member` when the Bot
        Connector answers (best effort: the activity alone is enough to DM them)."""
        if place.kind == "personal":
            return
        entries: list[store.RosterEntry] = []
        for member in members:
            aad, name, email = member.aad_object_id, member.name, None
            try:
                found = await TeamsInfo.get_member(turn_context, member.id)
                aad = found.aad_object_id or aad
                name = found.name or name
                email = found.email or found.user_principal_name
            except Exception as exc:
                log.info("Teams: no details for new member %s: %s", member.id, exc)
            entries.append(store.RosterEntry(member.id, aad, name, email))
        async with self.tandem.sessions() as session, session.begin():
            await store.save_roster(
                session, place.team_id or place.address, place.tenant_id, entries, self.tandem.now()
            )
        self.tandem._people.clear()

    async def _sync_roster(self, turn_context: TurnContext, place: inbound.Where) -> None:
        """Best effort: the team's members (Teams ids, AAD ids, names, emails) for proactive DMs."""
        if place.kind == "personal":
            return
        entries: list[store.RosterEntry] = []
        try:
            token = None
            while True:
                page = await TeamsInfo.get_paged_members(turn_context, token, 500)
                for member in page.members or []:
                    entries.append(
                        store.RosterEntry(
                            member.id,
                            member.aad_object_id,
                            member.name,
                            member.email or member.user_principal_name,
                        )
                    )
                token = page.continuation_token
                if not token:
                    break
        except Exception as exc:
            log.warning("Teams: could not read the roster of %s: %s", place.address, exc)
            return
        async with self.tandem.sessions() as session, session.begin():
            await store.save_roster(
                session, place.team_id or place.address, place.tenant_id, entries, self.tandem.now()
            )

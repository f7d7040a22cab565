"""The delivery worker's Bot Connector client (adapters/teams/connector.py) over real HTTP on loopback,
against the fake Bot Connector: URLs escaped exactly as msrest escapes them, the bearer token from the
configured credentials (fetched off the event loop when that may block, and reused), no header without an
app id, failures classified for the outbox, one HTTP attempt per call, and the session closed with the app."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from botbuilder.schema import Activity, ChannelAccount, ConversationParameters
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    MicrosoftAppCredentials,
    PasswordServiceClientCredentialFactory,
)

from adapters.base import PermanentFailure, RetryLater
from adapters.teams import TeamsAdapter, TeamsConfig
from adapters.teams.connector import TOKEN_REUSE, BotConnector, ConnectorAuth, one_attempt
from flows.core.clock import ManualClock
from flows.core.types import Card
from tests.connect_attempts import counting
from tests.teams.conftest import APP_ID, TEAM, FakeConnector, FixedTokenCredentials, TeamsRig, make_rig
from tests.teams.conftest import INSTALLED_CHANNEL as CHANNEL

THREAD = f"{CHANNEL};messageid=1759881511856"
SCOPE = "https://api.botframework.com"
LOGIN = "https://login.microsoftonline.com/"


def _message(text: str = "hello") -> Activity:
    return Activity(type="message", text=text, from_property=ChannelAccount(id="28:bot"))


def _connector(
    factory: Any = None,
    app_id: str = APP_ID,
    *,
    timeout: float = 15.0,
    clock: Callable[[], float] | None = None,
) -> BotConnector:
    auth = ConnectorAuth(
        factory if factory is not None else FixedTokenCredentials(app_id, "not-used"),
        app_id,
        SCOPE,
        LOGIN,
        **({"clock": clock} if clock is not None else {}),
    )
    return BotConnector(auth, timeout=timeout)


@pytest.fixture
async def client() -> AsyncIterator[BotConnector]:
    connector = _connector()
    yield connector
    await connector.close()


def _msrest_url(service_url: str, operation: str, **parameters: str) -> str:
    """The URL botframework-connector's ConnectorClient (msrest) builds for `operation`."""
    sdk = ConnectorClient(MicrosoftAppCredentials.empty(), base_url=service_url)
    operations = sdk.conversations
    quoted = {name: operations._serialize.url(name, value, "str") for name, value in parameters.items()}
    url: str = operations._client.format_url(getattr(operations, operation).metadata["url"], **quoted)
    return url


# ------------------------------------------------------------ URLs and bodies


async def test_a_thread_reply_url_is_escaped_as_msrest_escapes_it(
    client: BotConnector, connector: FakeConnector
) -> None:
    ref = await client.send(connector.url, THREAD, _message())
    assert ref == "msg-1"
    await client.update(connector.url, THREAD, "1:a;b", _message("edited"))
    post, put = connector.calls
    assert post.raw_path == (
        "/amer/v3/conversations/19%3A0b7f32667e064dd9b25d7969801541f4%40thread.tacv2"
        "%3Bmessageid%3D1759881511856/activities"
    )
    sent = _msrest_url(connector.url, "send_to_conversation", conversationId=THREAD)
    updated = _msrest_url(connector.url, "update_activity", conversationId=THREAD, activityId="1:a;b")
    assert str(connector.url).rstrip("/") + post.raw_path.removeprefix("/amer") == sent
    assert put.raw_path.endswith("/activities/1%3Aa%3Bb")
    assert str(connector.url).rstrip("/") + put.raw_path.removeprefix("/amer") == updated
    # and the fake, decoding as a server does, sees the thread and the activity
    assert (post.method, post.conversation) == ("POST", THREAD)
    assert (put.method, put.conversation, put.activity_id) == ("PUT", THREAD, "1:a;b")
    assert post.body == _message().serialize() and put.body["text"] == "edited"


async def test_a_service_url_without_a_trailing_slash_is_joined_like_msrest(
    client: BotConnector, connector: FakeConnector
) -> None:
    base = connector.url.rstrip("/")  # ".../amer"
    await client.send(base, CHANNEL, _message())
    [post] = connector.calls
    assert str(base) + post.raw_path.removeprefix("/amer") == _msrest_url(
        base, "send_to_conversation", conversationId=CHANNEL
    )


async def test_create_conversation_posts_the_parameters(
    client: BotConnector, connector: FakeConnector
) -> None:
    parameters = ConversationParameters(
        is_group=False,
        bot=ChannelAccount(id="28:bot"),
        members=[ChannelAccount(id="29:ben")],
        tenant_id="tenant-1",
        channel_data={"tenant": {"id": "tenant-1"}},
    )
    created = await client.create_conversation(connector.url, parameters)
    assert created.id == "a:created-1"
    [call] = connector.calls
    assert (call.method, call.raw_path, call.conversation) == ("POST", "/amer/v3/conversations", None)
    assert call.body == parameters.serialize()
    assert call.body["isGroup"] is False and call.body["members"] == [{"id": "29:ben"}]


async def test_member_reads_are_gets_escaped_as_msrest_escapes_them(
    client: BotConnector, connector: FakeConnector
) -> None:
    connector.roster = [{"id": "29:ed", "name": "Ed", "aadObjectId": "aad-ed", "email": "ed@district.org"}]
    page = await client.paged_members(connector.url, TEAM, "to+k/en=", 500)
    [ed] = page.members
    assert (ed.id, ed.aad_object_id, ed.email) == ("29:ed", "aad-ed", "ed@district.org")
    assert page.continuation_token is None
    member = await client.member(connector.url, THREAD, "29:ed")
    assert (member.aad_object_id, member.name) == ("aad-ed", "Ed")
    paged, one = connector.calls
    assert (paged.method, one.method, paged.body, one.body) == ("GET", "GET", None, None)
    base = str(connector.url).rstrip("/")
    path, _, query = paged.raw_path.partition("?")
    assert base + path.removeprefix("/amer") == _msrest_url(
        connector.url, "get_conversation_paged_members", conversationId=TEAM
    )
    assert query == "pageSize=500&continuationToken=to%2Bk%2Fen%3D"  # msrest's query quoting: safe=""
    assert base + one.raw_path.removeprefix("/amer") == _msrest_url(
        connector.url, "get_conversation_member", conversationId=THREAD, memberId="29:ed"
    )


# ------------------------------------------------------------ credentials


async def test_the_bearer_token_of_the_credentials_factory_is_sent(
    client: BotConnector, connector: FakeConnector
) -> None:
    await client.send(connector.url, CHANNEL, _message())
    await client.update(connector.url, CHANNEL, "msg-1", _message())
    await client.create_conversation(connector.url, ConversationParameters(is_group=False))
    assert [c.authorization for c in connector.calls] == ["Bearer fake-outbound-token"] * 3


async def test_no_authorization_header_without_an_app_id(connector: FakeConnector) -> None:
    """Local development: botbuilder's anonymous credentials, and so no header at all."""
    bare = _connector(PasswordServiceClientCredentialFactory(), app_id="")
    adapter = TeamsAdapter(TeamsConfig(), None)  # type: ignore[arg-type]  # (no database needed)
    try:
        await bare.send(connector.url, CHANNEL, _message())
        await adapter.connector.send(connector.url, CHANNEL, _message())  # the adapter's own wiring
        await adapter.connector.update(connector.url, CHANNEL, "msg-1", _message())
    finally:
        await bare.close()
        await adapter.close()
    assert [c.authorization for c in connector.calls] == [None, None, None]


class _Msal(MicrosoftAppCredentials):  # type: ignore[misc]
    """Stands in for MSAL and Azure AD (never reached from tests): a new token per fetch, and the thread
    each fetch ran in."""

    def __init__(self) -> None:
        super().__init__(APP_ID, "secret")
        self.threads: list[int] = []

    def get_access_token(self, force_refresh: bool = False) -> str:
        self.threads.append(threading.get_ident())
        return f"token-{len(self.threads)}"


class _Factory(PasswordServiceClientCredentialFactory):  # type: ignore[misc]
    def __init__(self, credentials: Any) -> None:
        super().__init__(APP_ID, "secret")
        self.credentials = credentials
        self.asked: list[tuple[Any, ...]] = []

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> Any:
        self.asked.append((app_id, oauth_scope, login_endpoint, validate_authority))
        return self.credentials


async def test_an_msal_token_is_fetched_in_a_thread_once_and_reused(connector: FakeConnector) -> None:
    msal = _Msal()
    factory = _Factory(msal)
    adapter = TeamsAdapter(TeamsConfig(app_id=APP_ID, credentials_factory=factory), None)  # type: ignore[arg-type]
    try:
        await asyncio.gather(*(adapter.connector.send(connector.url, CHANNEL, _message()) for _ in range(5)))
    finally:
        await adapter.close()
    # what botbuilder's connector factory asks for a proactive call: the app, the channel scope, public cloud
    assert factory.asked == [(APP_ID, SCOPE, LOGIN, True)]
    assert len(msal.threads) == 1 and msal.threads[0] != threading.get_ident()  # never on the event loop
    assert {c.authorization for c in connector.calls} == {"Bearer token-1"}


async def test_a_token_is_fetched_again_after_a_while_and_after_a_401(connector: FakeConnector) -> None:
    msal = _Msal()
    now = [1000.0]
    client = _connector(_Factory(msal), clock=lambda: now[0])
    try:
        await client.send(connector.url, CHANNEL, _message())
        now[0] += TOKEN_REUSE - 1
        await client.send(connector.url, CHANNEL, _message())
        now[0] += 2  # MSAL's token may be within 5 minutes of expiry now: ask MSAL again
        await client.send(connector.url, CHANNEL, _message())
        connector.fail_next(401)
        with pytest.raises(PermanentFailure, match=r"\(401\)"):
            await client.send(connector.url, CHANNEL, _message())
        await client.send(connector.url, CHANNEL, _message())
    finally:
        await client.close()
    assert [c.authorization for c in connector.calls] == [
        "Bearer token-1",
        "Bearer token-1",
        "Bearer token-2",
        "Bearer token-2",  # refused ...
        "Bearer token-3",  # ... so the next call has a fresh one
    ]


async def test_a_failing_token_fetch_is_retry_later(connector: FakeConnector) -> None:
    class Refused(_Msal):
        def get_access_token(self, force_refresh: bool = False) -> str:
            raise PermissionError("Failed to get access token with error: invalid_client")

    client = _connector(_Factory(Refused()))
    try:
        with pytest.raises(RetryLater, match="cannot get a token"):
            await client.send(connector.url, CHANNEL, _message())
    finally:
        await client.close()
    assert connector.calls == []


def test_the_default_credentials_are_botbuilders_msal_app_credentials() -> None:
    """No credentials factory configured: botbuilder's, from the app id, password and tenant."""
    adapter = TeamsAdapter(
        TeamsConfig(app_id=APP_ID, app_password="pw", tenant_id="tenant-1", app_type="SingleTenant"),
        None,  # type: ignore[arg-type]
    )
    auth = adapter.connector.auth
    credentials = asyncio.run(
        auth.factory.create_credentials(auth.app_id, auth.oauth_scope, auth.login_endpoint, True)
    )
    assert isinstance(credentials, MicrosoftAppCredentials)
    assert (credentials.microsoft_app_id, credentials.microsoft_app_password) == (APP_ID, "pw")
    assert credentials.oauth_scope == SCOPE and credentials.tenant == "tenant-1"


# ------------------------------------------------------------ failures: one attempt, classified


async def test_429_is_retry_later_with_its_retry_after(
    client: BotConnector, connector: FakeConnector
) -> None:
    connector.fail_next(429, {"Retry-After": "7"})
    with pytest.raises(RetryLater, match="429") as caught:
        await client.send(connector.url, CHANNEL, _message())
    assert caught.value.retry_after == 7.0
    assert len(connector.calls) == 1


@pytest.mark.parametrize("status", [408, 412, 500, 502, 503, 504])
@pytest.mark.parametrize("method", ["POST", "PUT"])
async def test_retryable_answers_are_one_call_and_retry_later(
    client: BotConnector, connector: FakeConnector, status: int, method: str
) -> None:
    connector.fail_next(status)
    with pytest.raises(RetryLater, match=str(status)) as caught:
        if method == "POST":
            await client.send(connector.url, CHANNEL, _message())
        else:
            await client.update(connector.url, CHANNEL, "msg-1", _message())
    assert caught.value.retry_after is None
    assert [c.method for c in connector.calls] == [method]


@pytest.mark.parametrize("status", [403, 404])
async def test_a_gone_conversation_is_a_permanent_failure(
    client: BotConnector, connector: FakeConnector, status: int
) -> None:
    connector.fail_next(status)
    with pytest.raises(PermanentFailure, match="gone or the app was removed"):
        await client.send(connector.url, CHANNEL, _message())
    assert len(connector.calls) == 1


async def test_another_refusal_is_a_permanent_failure_with_the_reason(
    client: BotConnector, connector: FakeConnector
) -> None:
    connector.fail_next(400)
    with pytest.raises(PermanentFailure, match=r"refused the message \(400\): Failed: fake"):
        await client.update(connector.url, CHANNEL, "msg-1", _message())
    assert len(connector.calls) == 1


async def test_a_refused_connection_is_retry_later_at_once(client: BotConnector) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago, now closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with counting() as attempts, pytest.raises(RetryLater, match="cannot reach the Bot Connector"):
        await client.send(f"http://127.0.0.1:{port}/amer/", CHANNEL, _message())
    assert [a for a in attempts if a[1] == port] == [("127.0.0.1", port)]  # one attempt, no retry inside


async def _server(handle: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Any]) -> Any:
    return await asyncio.start_server(handle, "127.0.0.1", 0)


async def test_the_private_aiohttp_switch_one_attempt_sets_still_exists() -> None:
    """`one_attempt` changes aiohttp's session in place: `_retry_connection`, which has no public switch. If
    an aiohttp upgrade renames or drops it, this fails; the next test fails if aiohttp resends anyway."""
    assert "_retry_connection" in aiohttp.ClientSession.ATTRS
    async with aiohttp.ClientSession() as session:
        assert session._retry_connection is True  # aiohttp's default: resend an idempotent request once
        assert one_attempt(session) is session
        assert session._retry_connection is False


async def test_a_dropped_connection_is_one_connection_even_for_a_put(client: BotConnector) -> None:
    """aiohttp would resend an idempotent request (PUT: a card update) once on a dropped connection; the
    outbox is the one retry mechanism, so it must not."""
    accepted = 0

    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted
        accepted += 1
        await reader.readuntil(b"\r\n\r\n")  # the request arrived; no answer
        writer.close()

    server = await _server(drop)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/amer/"
    try:
        for call in (
            lambda: client.update(url, CHANNEL, "msg-1", _message()),
            lambda: client.send(url, CHANNEL, _message()),
        ):
            accepted = 0
            with pytest.raises(RetryLater, match="cannot reach the Bot Connector"):
                await call()
            assert accepted == 1
    finally:
        server.close()
        await server.wait_closed()


async def test_a_silent_bot_connector_times_out_as_retry_later() -> None:
    accepted = 0
    release = asyncio.Event()

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted
        accepted += 1
        await release.wait()
        writer.close()

    server = await _server(hang)
    client = _connector(timeout=0.3)
    try:
        with pytest.raises(RetryLater, match="cannot reach the Bot Connector"):
            await client.send(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/", CHANNEL, _message())
        assert accepted == 1
    finally:
        release.set()
        await client.close()
        server.close()
        await server.wait_closed()


# ------------------------------------------------------------ in the adapter


async def test_the_delivery_path_builds_no_sdk_connector_client(rig: TeamsRig) -> None:
    """Sends, updates and new personal chats go through our client, not botbuilder's (msrest) one."""
    rig.connector.roster = [{"id": "29:ben", "name": "Ben", "aadObjectId": "aad-ben"}]
    assert (await rig.post(rig.activity("conversation_update_bot_added_to_team")))[0] == 200
    rig.adapter.auth.clients.clear()  # botbuilder builds one for every turn (it sends nothing)
    rig.connector.calls.clear()
    ref = await rig.adapter.send({"address": CHANNEL, "thread": "1759881511856"}, Card.plain("one"))
    assert ref is not None
    await rig.adapter.update({"address": CHANNEL}, ref, Card.plain("two"))
    dm = await rig.adapter.send({"user": "aad-ben"}, Card.plain("three"))
    assert dm is not None
    assert rig.adapter.auth.clients == {}
    assert [(c.method, c.conversation) for c in rig.connector.calls] == [
        ("POST", THREAD),
        ("PUT", CHANNEL),
        ("POST", None),
        ("POST", "a:created-2"),
    ]
    assert {c.authorization for c in rig.connector.calls} == {None}  # development mode: no token


async def test_the_apps_cleanup_closes_the_session(
    database_url: str, clock: ManualClock, connector: FakeConnector
) -> None:
    rigs = make_rig(database_url, clock, connector, sends_per_second=0)
    rig = await rigs.__anext__()
    assert (await rig.post(rig.activity("conversation_update_bot_added_to_team")))[0] == 200
    assert await rig.adapter.send({"address": CHANNEL}, Card.plain("x"))
    assert not rig.adapter.connector.closed
    await rigs.aclose()  # the test client closes the app: its cleanup runs
    assert rig.adapter.connector.closed
    with pytest.raises(RetryLater, match="shutting down"):
        await rig.adapter.send({"address": CHANNEL}, Card.plain("x"))

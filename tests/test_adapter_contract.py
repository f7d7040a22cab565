"""One adapter contract (adapters/base.py): Slack, Teams and local implement every member of it, their
declared capabilities agree with what flows still decide by platform name, and the bot mounts any adapter
the same way (a platform of the test's own goes through routes, engine, outbox and lifecycle)."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from adapters.base import Adapter, Capability, Inbox
from adapters.local import LocalAdapter
from adapters.slack import SlackAdapter
from adapters.teams import TeamsAdapter
from bot.app import build_app
from bot.runtime import Runtime
from bot.settings import Settings
from flows.core.clock import ManualClock
from flows.core.engine import FlowContext
from flows.core.types import HOME_PLATFORMS, Actor, Card, CommandEvent, Conversation
from storage.sealing import Sealer
from tests.slack.conftest import FakeSlack, fake_slack, settings_for  # noqa: F401

ADAPTERS: list[type[Any]] = [SlackAdapter, TeamsAdapter, LocalAdapter]
METHODS = ("mount", "start", "close", "send", "update")


def _parameters(function: Any) -> list[str]:
    return list(inspect.signature(function).parameters)


@pytest.mark.parametrize("cls", ADAPTERS, ids=lambda c: c.__name__)
def test_every_adapter_implements_the_whole_contract(cls: type[Any]) -> None:
    assert isinstance(cls.platform, str) and cls.platform
    assert isinstance(cls.capabilities, frozenset)
    assert all(isinstance(c, Capability) for c in cls.capabilities)
    for name in METHODS:
        mine, contract = getattr(cls, name), getattr(Adapter, name)
        assert _parameters(mine) == _parameters(contract), name
        assert inspect.iscoroutinefunction(mine) == inspect.iscoroutinefunction(contract), name
    assert {n for n in dir(Adapter) if not n.startswith("_")} <= set(dir(cls))


def test_the_capabilities_agree_with_what_flows_still_decide_by_platform() -> None:
    """flows.types.HOME_PLATFORMS and FlowContext.command_prefix name platforms; until flows read the
    declared capabilities instead, they must say the same."""
    home = {cls.platform for cls in ADAPTERS if Capability.HOME_VIEW in cls.capabilities}
    assert home == set(HOME_PLATFORMS)
    now = datetime(2026, 10, 20)
    for cls in ADAPTERS:
        ctx = FlowContext(None, now, Sealer.ephemeral(), actor=Actor(cls.platform, "u"))  # type: ignore[arg-type]
        slash = Capability.SLASH_COMMAND in cls.capabilities
        assert ctx.command_prefix == ("/tandem " if slash else ""), cls.platform


class Recorded:
    """A platform of the test's own, written to the contract and nothing else: `POST /test/say` is a
    person typing a command; what it sends is kept."""

    platform = "local"  # a platform people and channels can live on
    capabilities: frozenset[Capability] = frozenset()

    def __init__(self) -> None:
        self.inbox: Inbox | None = None
        self.sent: list[tuple[dict[str, Any], Card]] = []
        self.lifecycle: list[str] = []

    def mount(self, app: web.Application, inbox: Inbox) -> None:
        self.inbox = inbox
        app.router.add_post("/test/say", self.say)

    async def say(self, request: web.Request) -> web.Response:
        assert self.inbox is not None
        body = await request.json()
        user, text = str(body["user"]), str(body["text"])
        conversation = Conversation("local", f"dm-{user}", is_direct=True)
        await self.inbox.handle(CommandEvent(Actor("local", user), conversation, text, f"say:{body['id']}"))
        return web.Response(status=202)

    async def start(self) -> None:
        self.lifecycle.append("start")

    async def close(self) -> None:
        self.lifecycle.append("close")

    async def send(self, target: dict[str, Any], card: Card) -> str | None:
        self.sent.append((target, card))
        return f"sent-{len(self.sent)}"

    async def update(self, target: dict[str, Any], ref: str, card: Card) -> str | None:
        self.sent.append((target, card))
        return ref


@pytest.fixture
async def runtime(database_url: str, clock: ManualClock) -> AsyncIterator[Runtime]:
    runtime = Runtime(Settings(TANDEM_DATABASE_URL=database_url), clock=clock)  # type: ignore[call-arg]
    yield runtime
    await runtime.db.dispose()


async def test_the_bot_mounts_any_adapter_the_same_way(runtime: Runtime) -> None:
    platform = Recorded()
    app = web.Application()
    runtime.mount(app, platform)
    assert runtime.adapters["local"] is platform and runtime.worker.adapters["local"] is platform
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        assert platform.lifecycle == ["start"]
        response = await client.post("/test/say", json={"user": "ana", "text": "help", "id": 1})
        assert response.status == 202
        assert await runtime.worker.drain() == 1
    finally:
        await client.close()
    assert platform.lifecycle == ["start", "close"]
    [(target, card)] = platform.sent
    assert target["address"] == "dm-ana" and card.summary == "What Tandem can do"


async def test_a_local_adapter_mounted_hands_its_events_to_the_engine(runtime: Runtime) -> None:
    local = LocalAdapter()
    runtime.mount(web.Application(), local)
    await local.command("ana", "help")
    assert await runtime.worker.drain() == 1
    assert [e.card.summary for e in local.transcript] == ["What Tandem can do"]


async def test_healthz_lists_each_platform_with_its_capabilities(
    database_url: str,
    fake_slack: FakeSlack,  # noqa: F811
    clock: ManualClock,
) -> None:
    runtime = Runtime(settings_for(database_url, fake_slack.api_url), clock=clock)
    client = TestClient(TestServer(build_app(runtime), host="127.0.0.1"))
    await client.start_server()
    try:
        body = await (await client.get("/healthz")).json()
    finally:
        await client.close()
        await runtime.db.dispose()
    assert body["platforms"] == ["slack", "teams"]  # Teams: the loopback development mode
    assert body["capabilities"] == {
        "slack": sorted(c.value for c in SlackAdapter.capabilities),
        "teams": ["update_in_place"],
    }

"""Teams test rig: the real aiohttp app with `/api/messages`, a fake Bot Connector on loopback, and helpers
to replay Microsoft's activity fixtures (serviceUrl rewritten to the fake)."""

from __future__ import annotations

import copy
import itertools
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from botframework.connector.auth import PasswordServiceClientCredentialFactory
from msrest.authentication import BasicTokenAuthentication

from adapters.local import LocalAdapter
from adapters.teams import TeamsAdapter, TeamsConfig
from bot import teams_mount
from bot.app import mount_images
from bot.runtime import Runtime
from bot.settings import Settings
from flows.core.clock import ManualClock
from flows.setup.team_file import import_team, parse_team_file
from storage.models import OutboxMessage, Team

# Microsoft-authored payloads, copied into the project with their sources (tests/teams/fixtures/README.md).
FIXTURES = Path(__file__).resolve().parent / "fixtures"

APP_ID = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"
TENANT = "50612dbb-0237-4969-b378-8d42590f9c00"
CHANNEL = "19:6848757105754c8981c67612732d9aa7@thread.tacv2"
INSTALLED_CHANNEL = "19:0b7f32667e064dd9b25d7969801541f4@thread.tacv2"  # the bot-added-to-team fixture's
TEAM = "19:66P469zibfbsGI-_a0aN_toLTZpyzS6u7CT3TsXdgPw1@thread.tacv2"
RIDO_AAD = "b15a9416-0ad3-4172-9210-7beb711d3f70"
RIDO_29 = "29:17bUvCasIPKfQIXHvNzcPjD86fwm6GkWc1PvCGP2-NSkNb7AyGYpjQ7Xw-XgTwaHW5JxZ4KMNDxn1kcL8fwX1Nw"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


@dataclass
class Call:
    method: str
    path: str
    conversation: str | None
    activity_id: str | None
    body: Any
    authorization: str | None
    raw_path: str = ""  # as sent, percent-escapes and all
    user_agent: str = ""  # Tandem's own Bot Connector client says "Tandem"; botbuilder's msrest client not


@dataclass
class FakeConnector:
    """A Bot Connector (Bot Framework REST API v3) on loopback: records every call, answers like Teams,
    and can be told to fail the next sends with 429 / 412 / 502 / 403."""

    calls: list[Call] = field(default_factory=list)
    failures: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    roster: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    def fail_next(self, status: int, headers: dict[str, str] | None = None, times: int = 1) -> None:
        self.failures += [(status, headers or {})] * times

    async def handle(self, request: web.Request) -> web.Response:
        path = unquote(request.path)
        body = await request.json() if request.can_read_body else None
        match = re.search(r"/v3/conversations(?:/(?P<conv>[^/]+))?(?:/(?P<rest>.*))?$", path)
        conversation = match.group("conv") if match else None
        rest = (match.group("rest") if match else None) or ""
        activity_id = rest.split("/", 1)[1] if rest.startswith("activities/") else None
        self.calls.append(
            Call(
                request.method,
                path,
                conversation,
                activity_id,
                body,
                request.headers.get("Authorization"),
                request.raw_path,
                request.headers.get("User-Agent", ""),
            )
        )
        if request.method in ("POST", "PUT") and self.failures:
            status, headers = self.failures.pop(0)
            return web.json_response(
                {"error": {"code": "Throttled" if status == 429 else "Failed", "message": "fake"}},
                status=status,
                headers=headers,
            )
        if request.method == "POST" and conversation is None:
            return web.json_response({"id": f"a:created-{next(self._ids)}"}, status=201)
        if rest == "pagedmembers":
            return web.json_response({"members": self.roster})
        if request.method == "GET" and rest.startswith("members/"):
            wanted = rest.split("/", 1)[1]
            for member in self.roster:
                if member.get("id") == wanted:
                    return web.json_response(member)
        if request.method == "PUT" and activity_id:
            return web.json_response({"id": activity_id})
        if request.method == "POST" and rest.startswith("activities"):
            return web.json_response({"id": f"msg-{next(self._ids)}"}, status=201)
        return web.json_response({"error": {"code": "NotFound", "message": path}}, status=404)

    def sends(self) -> list[Call]:
        return [
            c for c in self.calls if c.method == "POST" and c.conversation and c.path.endswith("activities")
        ]

    @staticmethod
    def card(call: Call) -> dict[str, Any]:
        attachment = call.body["attachments"][0]
        assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
        content: dict[str, Any] = attachment["content"]
        return content

    @staticmethod
    def text(call: Call) -> str:
        """Every TextBlock and fact of the card, one per line."""
        lines: list[str] = []

        def walk(items: list[dict[str, Any]]) -> None:
            for item in items:
                if item.get("type") == "TextBlock":
                    lines.append(item["text"])
                elif item.get("type") == "FactSet":
                    lines.extend(f"{f['title']}: {f['value']}" for f in item["facts"])
                elif item.get("type") == "ActionSet":
                    lines.extend(f"[{a['title']}]" for a in item["actions"])

        walk(FakeConnector.card(call)["body"])
        return "\n".join(lines)


@pytest.fixture
async def connector() -> AsyncIterator[FakeConnector]:
    fake = FakeConnector()
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    fake.url = str(server.make_url("/amer/"))
    yield fake
    await server.close()


class FixedTokenCredentials(PasswordServiceClientCredentialFactory):  # type: ignore[misc]
    """Outbound tokens without MSAL (which accepts only https authorities): a fixed bearer token."""

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> Any:
        return BasicTokenAuthentication({"access_token": "fake-outbound-token"})


@dataclass
class TeamsRig:
    runtime: Runtime
    client: TestClient
    connector: FakeConnector
    adapter: TeamsAdapter
    local: LocalAdapter
    clock: ManualClock

    def activity(self, name: str, **changes: Any) -> dict[str, Any]:
        data = copy.deepcopy(fixture(name))
        data["serviceUrl"] = self.connector.url
        data.update(changes)
        return data

    async def post(self, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        response = await self.client.post(
            "/api/messages", data=data, headers={"Content-Type": "application/json", **(headers or {})}
        )
        text = await response.text()
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = text
        return response.status, parsed

    async def import_team(self, spec: dict[str, Any]) -> Team:
        async with self.runtime.sessions() as session, session.begin():
            return await import_team(session, parse_team_file(spec), self.clock.now())

    async def deliver(self) -> int:
        return await self.runtime.worker.drain()

    async def queue(self, text: str, **keys: Any) -> None:
        """An outbox row for the channel the bot-added-to-team fixture installs in, as a flow would write
        it (`keys`: message / replaces key)."""
        async with self.runtime.sessions() as session, session.begin():
            session.add(
                OutboxMessage(
                    platform="teams",
                    target={"address": INSTALLED_CHANNEL},
                    payload={"summary": text, "elements": [{"type": "text", "text": text}]},
                    sensitive=False,
                    status="pending",
                    attempts=0,
                    next_attempt_at=self.clock.now(),
                    created_at=self.clock.now(),
                    **keys,
                )
            )


async def make_rig(
    database_url: str,
    clock: ManualClock,
    connector: FakeConnector,
    *,
    app_id: str | None = None,
    **config: Any,
) -> AsyncIterator[TeamsRig]:
    env = {"TANDEM_DATABASE_URL": database_url}
    if app_id:
        env["MICROSOFT_APP_ID"] = app_id
        env["MICROSOFT_APP_PASSWORD"] = "not-used"
    settings = Settings(**env)  # type: ignore[arg-type]
    local = LocalAdapter()
    runtime = Runtime(settings, clock=clock, adapters={"local": local})
    local.handle = runtime.engine.handle
    teams_config = TeamsConfig(
        app_id=app_id,
        app_password="not-used" if app_id else None,
        credentials_factory=FixedTokenCredentials(app_id, "not-used") if app_id else None,
        **config,
    )
    app = web.Application()
    teams_mount.mount(app, runtime, teams_config)
    mount_images(app, runtime.images)
    adapter = runtime.adapters["teams"]
    assert isinstance(adapter, TeamsAdapter)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield TeamsRig(runtime, client, connector, adapter, local, clock)
    finally:
        await client.close()
        await runtime.db.dispose()


@pytest.fixture
async def rig(database_url: str, clock: ManualClock, connector: FakeConnector) -> AsyncIterator[TeamsRig]:
    """No app id: the local-development mode (no authentication), on loopback."""
    async for value in make_rig(database_url, clock, connector, sends_per_second=0):
        yield value


def teams_team_spec(**overrides: Any) -> dict[str, Any]:
    """A team living on Teams (and one member also local): the fixture's sender is a co-chair."""
    spec: dict[str, Any] = {
        "name": "Riverside Solutions Team",
        "timezone": "America/Los_Angeles",
        "norms": "seven-norms",
        "channels": [{"platform": "teams", "id": CHANNEL, "name": "Solutions Team"}],
        "meeting": {
            "rrule": "FREQ=WEEKLY;BYDAY=TU",
            "start": "2026-09-01T16:00:00",
            "reminder_minutes_before": 30,
        },
        "members": [
            {"name": "Rido Labor", "side": "labor", "co_chair": True, "teams": RIDO_AAD, "local": "rido"},
            {"name": "Ben Manager", "side": "management", "co_chair": True, "teams": "aad-ben"},
            {"name": "Cy Teacher", "side": "labor", "teams": "aad-cy"},
            {"name": "Di Principal", "side": "management", "local": "di"},
        ],
    }
    spec.update(overrides)
    return spec

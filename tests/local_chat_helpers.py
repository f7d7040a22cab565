"""A Tandem with its local chat page, in-process on an aiohttp test server: the real runtime (engine,
outbox, delivery worker), mounted by bot.app.build_app as `tandem serve` does; the ticker is not started
(tests tick through the page's clock control or `runtime.engine.tick`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.local_chat import PageClock
from bot.runtime import Runtime
from bot.settings import Settings
from flows.setup.team_file import import_team, parse_team_file
from tests.conftest import team_spec


@dataclass
class Page:
    runtime: Runtime
    client: TestClient[Any, Any]
    team: str

    async def say(self, person: str, text: str, c: str | None = None) -> Any:
        data = {"team": self.team, "person": person, "c": c or f"dm-{person}", "text": text}
        response = await self.client.post("/chat/say", data=data)
        await self.runtime.worker.drain()
        return response

    async def messages(self, person: str, c: str | None = None) -> str:
        params = {"team": self.team, "person": person, "c": c or f"dm-{person}"}
        response = await self.client.get("/chat/messages", params=params)
        assert response.status == 200, await response.text()
        return await response.text()

    async def post(self, path: str, **data: str) -> Any:
        response = await self.client.post(path, data={"team": self.team, **data})
        await self.runtime.worker.drain()
        return response


@contextlib.asynccontextmanager
async def chat_page(database_url: str, **spec: Any) -> AsyncIterator[Page]:
    settings = Settings(TANDEM_DATABASE_URL=database_url)
    runtime = Runtime(settings, clock=PageClock())
    await runtime.start(schedule=False, deliver=False)
    async with runtime.sessions() as session, session.begin():
        team = await import_team(session, parse_team_file(team_spec(**spec)), runtime.clock.now())
        team_id = str(team.id)
    client = TestClient(TestServer(build_app(runtime), host="127.0.0.1"))
    await client.start_server()
    try:
        yield Page(runtime, client, team_id)
    finally:
        await client.close()
        await runtime.stop()

"""`/metrics` names what docs/operations.md says to alert on: failed sends, outbox age, schedule lateness."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import build_app
from bot.runtime import Runtime
from bot.settings import Settings
from flows.core.clock import ManualClock
from flows.setup.team_file import import_team, parse_team_file
from storage import outbox
from storage.models import Schedule
from tests.conftest import team_spec


async def _metrics(database_url: str, clock: ManualClock) -> dict[str, float]:
    settings = Settings(TANDEM_DATABASE_URL=database_url, TANDEM_SECRET_KEY="k")  # type: ignore[call-arg]
    runtime = Runtime(settings, clock=clock)
    server = TestServer(build_app(runtime), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http, http.get(server.make_url("/metrics")) as response:
            text = await response.text()
    finally:
        await server.close()
        await runtime.db.dispose()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


@pytest.mark.both_databases
async def test_outbox_age_and_schedule_lateness(
    database_url: str, sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    start = clock.now()
    async with sessions() as session, session.begin():
        await import_team(session, parse_team_file(team_spec()), clock.now())
        await outbox.add(
            session,
            team_id=None,
            platform="slack",
            target={"address": "C1"},
            payload={},
            sensitive=False,
            now=clock.now(),
        )
    async with sessions() as session:
        first = (await session.execute(select(func.min(Schedule.next_fire_at)))).scalar_one()
    before = await _metrics(database_url, clock)
    assert before["tandem_schedule_lateness_seconds"] == 0
    assert before['tandem_outbox_messages{status="pending"}'] == 1
    clock.set(first + timedelta(minutes=5))  # no replica ticked: the schedule is 5 minutes late
    after = await _metrics(database_url, clock)
    assert after["tandem_schedule_lateness_seconds"] == 300
    assert after["tandem_outbox_oldest_due_seconds"] == (clock.now() - start).total_seconds()
    assert before["tandem_outbox_oldest_due_seconds"] == 0  # due this instant: not waiting yet

"""One team on Slack and on Teams at once, with the Slack fake and the Teams fake side by side: the norms
reminder reaches both channels, and a person with a Slack and a Teams identity is one person (one
membership; a DM reaches them on one platform only)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.app import build_app
from bot.runtime import Runtime
from flows.core import outbox
from flows.core.clock import ManualClock
from flows.core.types import Card, Delivery, Recipient
from flows.setup.team_file import import_team, parse_team_file
from storage import schedules, teams
from storage.models import Membership, OutboxMessage, Team
from tests.slack.conftest import FakeSlack, fake_slack, settings_for, slack_team_spec  # noqa: F401
from tests.teams.conftest import CHANNEL, RIDO_29, RIDO_AAD, FakeConnector, fixture

SLACK_CHANNEL = "C111"
RIDO_SLACK = "W555"


@dataclass
class Both:
    runtime: Runtime
    client: TestClient
    slack: FakeSlack
    teams: FakeConnector
    clock: ManualClock

    async def post_activity(self, name: str, **changes: Any) -> int:
        body = fixture(name)
        body["serviceUrl"] = self.teams.url
        body.update(changes)
        response = await self.client.post("/api/messages", json=body)
        await response.read()
        return response.status

    async def deliver(self) -> int:
        return await self.runtime.worker.drain()


@pytest.fixture
async def both(
    database_url: str,
    fake_slack: FakeSlack,  # noqa: F811
    connector: FakeConnector,
    clock: ManualClock,
) -> AsyncIterator[Both]:
    """The real app with Slack (signed, Web API at the fake) and Teams (loopback development mode, replies
    to the fake Bot Connector named by each activity's serviceUrl) mounted on one runtime."""
    runtime = Runtime(settings_for(database_url, fake_slack.api_url), clock=clock)
    app = build_app(runtime)
    assert {"slack", "teams"} <= set(runtime.adapters)
    await runtime.start(migrate=False, schedule=False, deliver=False)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield Both(runtime, client, fake_slack, connector, clock)
    finally:
        await client.close()
        await runtime.stop()


def mixed_team_spec() -> dict[str, Any]:
    spec = slack_team_spec(name="Joint Solutions Team", norms="seven-norms")
    spec["channels"] = [
        {"platform": "slack", "id": SLACK_CHANNEL, "name": "#solutions"},
        {"platform": "teams", "id": CHANNEL, "name": "Solutions Team"},
    ]
    spec["members"] = [
        {"name": "Ana Labor", "side": "labor", "co_chair": True, "slack": "W111"},
        # the district co-chair lives on Teams and also joined the union's Slack
        {
            "name": "Rido Manager",
            "side": "management",
            "co_chair": True,
            "teams": RIDO_AAD,
            "slack": RIDO_SLACK,
        },
        {"name": "Ben Manager", "side": "management", "teams": "aad-ben"},
        {"name": "Cy Teacher", "side": "labor", "slack": "W333"},
    ]
    return spec


async def _import(both: Both) -> Team:
    async with both.runtime.sessions() as session, session.begin():
        return await import_team(session, parse_team_file(mixed_team_spec()), both.clock.now())


async def _install_in_teams(both: Both) -> None:
    """The app is added to the Teams team: the channel's reference and the roster are stored."""
    both.teams.roster = [
        {"id": RIDO_29, "name": "rido", "aadObjectId": RIDO_AAD},
        {"id": "29:ben", "name": "Ben Manager", "aadObjectId": "aad-ben"},
    ]
    assert await both.post_activity("conversation_update_bot_added_to_team") == 200
    await both.deliver()
    both.teams.calls.clear()
    both.slack.calls.clear()


async def test_the_norms_reminder_reaches_the_slack_and_the_teams_channel(both: Both) -> None:
    team = await _import(both)
    await _install_in_teams(both)
    async with both.runtime.sessions() as session:
        due = (await schedules.for_team(session, team.id, "meeting"))[0].next_fire_at
    assert due is not None
    both.clock.set(due)
    assert (await both.runtime.engine.tick()).ran == 1
    await both.deliver()

    [slack_post] = [
        c for c in both.slack.called("chat.postMessage") if c.args.get("channel") == SLACK_CHANNEL
    ]
    assert "Norm of focus" in str(slack_post.args.get("blocks")) + str(slack_post.args.get("text"))
    [teams_post] = both.teams.sends()
    assert teams_post.conversation == CHANNEL
    text = both.teams.text(teams_post)
    assert "Norm of focus" in text and "Facilitator" in text
    async with both.runtime.sessions() as session:
        statuses = list((await session.execute(select(OutboxMessage.status))).scalars())
    assert statuses and set(statuses) == {"sent"}


async def test_a_person_on_both_platforms_is_one_person_with_one_dm(both: Both) -> None:
    team = await _import(both)
    await _install_in_teams(both)
    async with both.runtime.sessions() as session:
        on_slack = await teams.person_by_identity(session, "slack", RIDO_SLACK)
        on_teams = await teams.person_by_identity(session, "teams", RIDO_AAD)
        assert on_slack is not None and on_teams is not None and on_slack.id == on_teams.id
        memberships = (
            await session.execute(
                select(func.count()).select_from(Membership).where(Membership.person_id == on_slack.id)
            )
        ).scalar_one()
    assert memberships == 1

    async with both.runtime.sessions() as session, session.begin():
        await outbox.enqueue(
            session,
            Delivery(
                Recipient.person(on_slack.id), Card.plain("Your role at Tuesday's meeting"), team_id=team.id
            ),
            both.clock.now(),
        )
    await both.deliver()
    slack_dms = [c for c in both.slack.called("chat.postMessage") if "Your role" in str(c.args.get("text"))]
    teams_dms = [c for c in both.teams.sends() if "Your role" in both.teams.text(c)]
    assert len(slack_dms) + len(teams_dms) == 1, (slack_dms, teams_dms)

    # speaking from either platform, the co-chair is recognised as the same member
    async with both.runtime.sessions() as session:
        members = await teams.identities_of(session, on_slack.id)
    assert {(i.platform, i.user_id) for i in members} == {("slack", RIDO_SLACK), ("teams", RIDO_AAD)}

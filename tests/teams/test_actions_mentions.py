"""Action items in a team on Slack and Teams at once: a Slack `<@U…>` mention and a Teams `<at>` mention of
the same co-chair make the same person an owner, through the real slack-bolt and botbuilder stacks over
loopback HTTP (the Slack fake and the Bot Connector fake side by side)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.slack import SlackInbound
from bot.app import build_app
from bot.runtime import Runtime
from bot.slack_mount import SLACK
from flows.core.clock import ManualClock
from storage import action_items, teams
from tests.slack.conftest import FakeSlack, SlackClient, fake_slack, settings_for  # noqa: F401
from tests.teams.conftest import RIDO_29, RIDO_AAD, FakeConnector, fixture
from tests.teams.test_cross_platform import RIDO_SLACK, SLACK_CHANNEL, Both, _import, _install_in_teams


@dataclass
class Rig:
    both: Both
    slack: SlackClient
    inbound: SlackInbound


@pytest.fixture
async def rig(
    database_url: str,
    fake_slack: FakeSlack,  # noqa: F811
    connector: FakeConnector,
    clock: ManualClock,
) -> AsyncIterator[Rig]:
    runtime = Runtime(settings_for(database_url, fake_slack.api_url), clock=clock)
    app = build_app(runtime)
    await runtime.start(migrate=False, schedule=False, deliver=False)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    http = aiohttp.ClientSession()
    try:
        both = Both(runtime, client, fake_slack, connector, clock)
        yield Rig(both, SlackClient(http, fake_slack, str(client.make_url("/slack/events"))), app[SLACK])
    finally:
        await http.close()
        await client.close()
        await runtime.stop()


async def test_slack_and_teams_mentions_of_one_person_make_the_same_owner(rig: Rig) -> None:
    both = rig.both
    team = await _import(both)
    await _install_in_teams(both)
    rig.slack.fake.names.update({"W111": "Ana Labor", RIDO_SLACK: "Rido Manager"})

    # on Slack, Ana names Rido by their Slack id
    text = f'action "Draft the survey to staff" <@{RIDO_SLACK}> due 2026-12-04'
    assert (await rig.slack.command(text, user="W111", channel=SLACK_CHANNEL)).status == 200
    await rig.inbound.drain()
    await both.deliver()

    # on Teams, Rido names themself with an <at> mention
    activity = fixture("message_channel_reply_with_mention")
    bot_mention = activity["entities"][0]
    activity["serviceUrl"] = both.teams.url
    activity["text"] = '<at>ridotest</at> action "Plan the retreat" <at>Rido Manager</at> due 2026-12-11'
    activity["entities"] = [
        bot_mention,
        {
            "type": "mention",
            "text": "<at>Rido Manager</at>",
            "mentioned": {"id": RIDO_29, "name": "Rido Manager", "aadObjectId": RIDO_AAD},
        },
    ]
    response = await both.client.post("/api/messages", json=activity)
    assert response.status == 200
    await both.deliver()

    async with both.runtime.sessions() as session:
        rido = await teams.person_by_identity(session, "teams", RIDO_AAD)
        items = await action_items.all_items(session, team.id)
    assert rido is not None
    assert [(i.title, i.owner_ids) for i in items] == [
        ("Draft the survey to staff", (rido.id,)),
        ("Plan the retreat", (rido.id,)),
    ]
    # Rido, named on Slack by Ana, is told once, privately, on one platform
    on_slack = [c for c in both.slack.called("chat.postMessage") if "named you an owner" in str(c.args)]
    on_teams = [c for c in both.teams.sends() if "named you an owner" in both.teams.text(c)]
    assert len(on_slack) + len(on_teams) == 1

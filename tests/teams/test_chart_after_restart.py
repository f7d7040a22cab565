"""A released trust poll's chart lives in the database, not in a local folder: after `tandem serve` restarts
with a fresh temporary folder (a new container, or another replica), `pulse results` still brings the chart
to Slack (uploaded as a file) and to Teams (inline in the card). The real program, run twice on one database
(SQLite and PostgreSQL), with the fake Slack Web API and the fake Bot Connector."""

from __future__ import annotations

import base64
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flows.setup.team_file import import_team, parse_team_file
from storage import images, outbox, pulse
from storage.images import StoredImage
from tests.serve_process import Served, eventually, tandem_serve
from tests.slack.conftest import (  # noqa: F401 (fake_slack: a fixture)
    BOT_TOKEN,
    POLL_MEMBERS,
    SIGNING_SECRET,
    FakeSlack,
    SlackClient,
    fake_slack,
    fixture,
    invitation_button,
    slack_team_spec,
    trust_answers,
)
from tests.teams.conftest import FakeConnector
from tests.teams.conftest import fixture as teams_fixture

pytestmark = pytest.mark.slow  # processes, a browser or seconds of work: scheduled first (tests/conftest.py)
ANSWERING = ("W111", "W222", "W333", "W444", "W555")
REPORT = "Self-Assessment — results"


def _teams_message(connector: FakeConnector, text: str) -> dict[str, Any]:
    """A message in a Teams member's personal chat with the bot (Microsoft's fixture, as a message)."""
    message = teams_fixture("invoke_adaptive_card_action_execute")
    message.update(type="message", text=text, id=str(time.time_ns()), serviceUrl=connector.url)
    for key in ("name", "value"):
        message.pop(key)
    return message


TEAMS_MEMBER = teams_fixture("invoke_adaptive_card_action_execute")["from"]["aadObjectId"]  # Gus


async def _post_teams(served: Served, activity: dict[str, Any]) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{served.url}/api/messages", json=activity) as response,
    ):
        await response.read()
        return response.status


async def _stored_chart(sessions: async_sessionmaker[AsyncSession], team_id: int) -> StoredImage | None:
    async with sessions() as session:
        poll = await pulse.latest_released(session, team_id)
        return await images.load(session, images.chart_name(poll.id)) if poll else None


async def _release_on_slack(
    slack: SlackClient, sessions: async_sessionmaker[AsyncSession], team_id: int
) -> None:
    """A co-chair starts a trust poll in the channel, five members answer in the modal, the co-chair closes
    it (the report goes to the channel and each co-chair, its chart uploaded after it)."""
    assert (await slack.command("pulse start", user="W111", channel="C111")).status == 200
    for user in ANSWERING:
        await eventually(
            lambda user=user: any(
                c.args["channel"] == f"D{user}" for c in slack.fake.called("chat.postMessage")
            ),
            f"{user}'s invitation",
        )
        assert (await slack.click(user, invitation_button(slack, user), channel=f"D{user}")).status == 200

        def form(user: str = user) -> tuple[str, dict[str, Any]] | None:
            if not any(f".{user}." in t for t in slack.fake.opened):
                return None
            view_id, view = slack.modal_of(user)
            return (view_id, view) if view.get("callback_id") == "pulse.submit" else None

        view_id, view = await eventually(form, f"{user}'s form")
        assert (await slack.submit(user, view, trust_answers(), view_id=view_id)).status == 200

    async def answered() -> bool:
        async with sessions() as session:
            poll = await pulse.open_poll(session, team_id)
            return poll is not None and await pulse.participation_count(session, poll.id) == len(ANSWERING)

    await eventually(answered, "five answers recorded")
    assert (await slack.command("pulse close", user="W111", channel="C111")).status == 200
    await eventually(lambda: len(slack.fake.shared_files) == 3, "the chart uploaded with each report")
    await eventually(lambda: _all_sent(sessions), "every message recorded as sent")


async def _all_sent(sessions: async_sessionmaker[AsyncSession]) -> bool:
    """Nothing left to deliver (a row sent but not yet recorded as sent would go again after the restart:
    deliveries are at least once), and nothing failed."""
    async with sessions() as session:
        counts = await outbox.counts_by_status(session)
        if counts.get("failed"):
            from sqlalchemy import select

            from storage.models import OutboxMessage

            failed = (
                await session.execute(select(OutboxMessage).where(OutboxMessage.status == "failed"))
            ).scalars()
            why = [(m.platform, m.target, m.attempts, m.last_error) for m in failed]
            raise AssertionError(f"{counts}: {why}")
    return set(counts) == {"sent"}


def _pngs(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.png"))


async def test_a_released_chart_reaches_slack_and_teams_after_a_restart_with_a_fresh_temp_folder(
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    fake_slack: FakeSlack,  # noqa: F811
    connector: FakeConnector,
    tmp_path: Path,
) -> None:
    spec = slack_team_spec(
        members=[*POLL_MEMBERS, {"name": "Gus Coach", "side": "labor", "teams": TEAMS_MEMBER}]
    )
    async with sessions() as session, session.begin():
        team = await import_team(session, parse_team_file(spec), datetime.now(UTC))
    env = {
        "TANDEM_DATABASE_URL": database_url,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": fake_slack.api_url,
    }  # Teams: no app id, on loopback (development mode), replies to the fake connector
    first_tmp, second_tmp = tmp_path / "tmp-first", tmp_path / "tmp-second"
    first_tmp.mkdir()
    second_tmp.mkdir()

    async with aiohttp.ClientSession() as http:
        async with tandem_serve({**env, "TMPDIR": str(first_tmp)}) as served:
            # Gus has talked to the bot on Teams (his invitation goes to that personal chat)
            assert await _post_teams(served, _teams_message(connector, "help")) == 200
            await eventually(lambda: connector.sends(), "Gus's help on Teams")
            await _release_on_slack(
                SlackClient(http, fake_slack, f"{served.url}/slack/events"), sessions, team.id
            )
        assert served.process.returncode == 0, served.output
        chart = await _stored_chart(sessions, team.id)
        assert chart is not None
        assert [fake_slack.uploads[f["id"]] for f in fake_slack.shared_files] == [chart.content] * 3
        assert _pngs(first_tmp) == []  # no chart file was written
        shutil.rmtree(first_tmp)  # the first container is gone, its temporary folder with it

        fake_slack.shared_files.clear()
        connector.calls.clear()
        async with tandem_serve({**env, "TMPDIR": str(second_tmp)}) as served:
            slack = SlackClient(http, fake_slack, f"{served.url}/slack/events")
            dm = fixture("event_message_im.json")  # W222, a co-chair, in their DM with the bot
            dm["event"]["text"] = "pulse results"
            assert (await slack.event(dm)).status == 200
            asked = _teams_message(connector, "pulse results")  # Gus, in his personal chat with the bot
            assert await _post_teams(served, asked) == 200

            [upload] = await eventually(lambda: fake_slack.shared_files, "the chart uploaded on Slack")
            [reply] = await eventually(
                lambda: [c for c in connector.sends() if REPORT in connector.text(c)], "the report on Teams"
            )
        assert served.process.returncode == 0, served.output

    # Slack: the report in the DM, then the chart's bytes uploaded to the same place
    [post] = [c for c in fake_slack.called("chat.postMessage") if c.args["channel"] == "D111"]
    assert "Relational Trust Self-Assessment results" in post.args["text"]
    assert upload["channel"] == "D111" and upload["name"] == chart.name
    assert fake_slack.uploads[upload["id"]] == chart.content and fake_slack.shared_files == [upload]
    # Teams: the report card in Gus's personal chat, the chart inline
    assert reply.conversation == asked["conversation"]["id"]
    [image] = [b for b in connector.card(reply)["body"] if b["type"] == "Image"]
    assert base64.b64decode(image["url"].removeprefix("data:image/png;base64,")) == chart.content
    assert _pngs(second_tmp) == []

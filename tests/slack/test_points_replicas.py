"""Joint talking points across processes on PostgreSQL: the labor and the management co-chair approve at
the same moment on two `tandem serve` replicas and the points are published exactly once; and a kill -9
between the approval and the sends still delivers every audience channel exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select, text

from flows.setup.team_file import import_team, parse_team_file
from flows.talking_points import cards
from storage.db import create_engine, session_factory
from storage.models import AuditEntry, OutboxMessage
from storage.talking_points_models import TalkingPointSet
from tests.conftest import _empty_all
from tests.serve_process import Served, eventually, tandem_serve
from tests.slack.conftest import (
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    Scripted,
    SlackClient,
    buttons,
    slack_team_spec,
)

pytestmark = pytest.mark.slow  # processes, a browser or seconds of work: scheduled first (tests/conftest.py)
AUDIENCE = ("C900", "C901")
LABEL = "Joint talking points — agreed by Ana Labor (labor) and Ben Manager (management)"


def _spec() -> dict[str, Any]:
    return slack_team_spec(
        broadcast_channels=[
            {"platform": "slack", "id": "C900", "name": "#staff"},
            {"platform": "slack", "id": "C901", "name": "#union-members"},
        ]
    )


async def _setup(url: str) -> dict[str, str]:
    await _empty_all(url, truncate=False)
    engine = create_engine(url)
    async with session_factory(engine)() as session, session.begin():
        await import_team(session, parse_team_file(_spec()), datetime.now(UTC))
    await engine.dispose()
    return {"TANDEM_DATABASE_URL": url, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_BOT_TOKEN": BOT_TOKEN}


def _posts(fake: FakeSlack, channel: str) -> list[dict[str, Any]]:
    return [
        c.args
        for c in fake.called("chat.postMessage")
        if c.args.get("channel") == channel and LABEL in str(c.args.get("blocks", ""))
    ]


def _approve_button(fake: FakeSlack, user: str) -> dict[str, Any] | None:
    for call in reversed(fake.called("chat.postMessage") + fake.called("chat.update")):
        if call.args.get("channel") == f"D{user}":
            found = buttons(call.args, cards.APPROVE)
            if found:
                return found[0]
    return None


async def _count(url: str, stmt: Any) -> int:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            return int((await session.execute(stmt)).scalar_one())
    finally:
        await engine.dispose()


async def _waiting(url: str) -> bool:
    """Two transactions of this database are waiting for a lock."""
    stmt = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    return await _count(url, stmt) >= 2


async def _draft(slack: SlackClient, fake: FakeSlack) -> dict[str, Any]:
    assert (
        await slack.command("points draft Class sizes stay at 24 | The vote is on 3 November")
    ).status == 200
    return await eventually(
        lambda: _approve_button(fake, "W222") and _approve_button(fake, "W111"), "the cards"
    )  # type: ignore[no-any-return]


async def _settled(url: str) -> None:
    """Wait (up to 4 s) until nothing is left to send, but what hangs or waits on purpose."""
    pending = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
    for _ in range(40):
        if await _count(url, pending) == 0:
            return
        await asyncio.sleep(0.1)


async def test_approvals_at_the_same_moment_on_two_replicas_publish_once(
    postgres_url: str, fake_slack: FakeSlack
) -> None:
    env = {**await _setup(postgres_url), "SLACK_API_URL": fake_slack.api_url}
    async with (
        tandem_serve(env) as one,
        tandem_serve(env) as two,
        aiohttp.ClientSession() as http,
    ):
        slack_one = SlackClient(http, fake_slack, f"{one.url}/slack/events")
        slack_two = SlackClient(http, fake_slack, f"{two.url}/slack/events")
        button = await _draft(slack_one, fake_slack)
        # Both approvals in flight at once, deterministically: while the test holds the audit log in SHARE
        # mode, each approval's transaction stops at its audit entry (or at the set's row lock, which the
        # first holds); both are waiting before either commits, then both go on.
        holder = create_engine(postgres_url)
        try:
            async with holder.begin() as connection:
                await connection.execute(text("LOCK TABLE audit_log IN SHARE MODE"))
                answers = await asyncio.gather(
                    slack_one.click("W111", button, channel="DW111"),
                    slack_two.click("W222", button, channel="DW222"),
                )
                assert [a.status for a in answers] == [200, 200]
                await eventually(lambda: _waiting(postgres_url), "both approvals waiting on a lock")
        finally:
            await holder.dispose()
        await eventually(lambda: all(_posts(fake_slack, c) for c in AUDIENCE), "the joint posts")
        await _settled(postgres_url)
        await asyncio.sleep(0.5)
    for channel in AUDIENCE:
        assert len(_posts(fake_slack, channel)) == 1, channel
    published = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "points.published")
    assert await _count(postgres_url, published) == 1
    rows = (
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.message_key == cards.post_key(1))
    )
    assert await _count(postgres_url, rows) == len(AUDIENCE)


async def test_a_kill_between_the_approval_and_the_sends_delivers_each_channel_once(
    postgres_url: str, fake_slack: FakeSlack
) -> None:
    env = {**await _setup(postgres_url), "SLACK_API_URL": fake_slack.api_url}
    posts_waiting = (
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.message_key == cards.post_key(1), OutboxMessage.status == "pending")
    )
    is_published = (
        select(func.count()).select_from(TalkingPointSet).where(TalkingPointSet.status == "published")
    )
    served: Served
    async with tandem_serve(env) as served, aiohttp.ClientSession() as http:
        slack = SlackClient(http, fake_slack, f"{served.url}/slack/events")
        button = await _draft(slack, fake_slack)
        # The labor co-chair approves; the next message out (Ben's "your turn") hangs at Slack, so the
        # worker is busy when Ben approves: the posts are decided and committed, not yet sent.
        fake_slack.then("chat.postMessage", Scripted(delay=12.0))
        assert (await slack.click("W111", button, channel="DW111")).status == 200
        await eventually(lambda: fake_slack.script.get("chat.postMessage") == [], "the hanging send")
        assert (await slack.click("W222", button, channel="DW222")).status == 200
        await eventually(lambda: _count(postgres_url, is_published), "the approval committed")
        assert await _count(postgres_url, posts_waiting) == len(AUDIENCE)
        os.kill(served.process.pid, signal.SIGKILL)  # no shutdown of any kind
        await served.process.wait()
    assert served.process.returncode == -signal.SIGKILL
    assert not any(_posts(fake_slack, c) for c in AUDIENCE)
    async with tandem_serve(env) as served:
        await eventually(
            lambda: all(_posts(fake_slack, c) for c in AUDIENCE), "the joint posts after restart"
        )
        await _settled(postgres_url)
        await asyncio.sleep(0.5)
    for channel in AUDIENCE:
        assert len(_posts(fake_slack, channel)) == 1, channel

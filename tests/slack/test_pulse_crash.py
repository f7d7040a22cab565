"""A crash between people's submits and the close loses no submission: `tandem serve` is killed with SIGKILL
after five members answered through Slack, started again, and the close counts all five answers."""

from __future__ import annotations

import json
import os
import signal
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from flows.setup.team_file import import_team, parse_team_file
from storage.db import create_engine, session_factory
from storage.pulse_models import PulseAnswer, PulseSealed
from tests.serve_process import Served, eventually, tandem_serve
from tests.slack.conftest import (
    BOT_TOKEN,
    POLL_MEMBERS,
    SIGNING_SECRET,
    FakeSlack,
    SlackClient,
    invitation_button,
    slack_team_spec,
    trust_answers,
)

# a storage behaviour: on PostgreSQL as well; slow: scheduled first (tests/conftest.py)
pytestmark = [pytest.mark.both_databases, pytest.mark.slow]

ANSWERS = {"W111": "1", "W222": "2", "W333": "3", "W444": "4", "W555": "5"}


def _posted(fake: FakeSlack, channel: str, text: str) -> list[dict[str, Any]]:
    return [
        c.args
        for c in fake.called("chat.postMessage") + fake.called("chat.update")
        if c.args.get("channel") == channel and text in str(c.args.get("text", ""))
    ]


async def _rows(database_url: str, column: Any) -> list[Any]:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            return list((await session.execute(select(column))).scalars())
    finally:
        await engine.dispose()


async def test_sigkill_between_submits_and_close_loses_no_submission(
    database_url: str, fake_slack: FakeSlack
) -> None:
    engine = create_engine(database_url)
    async with session_factory(engine)() as session, session.begin():
        await import_team(session, parse_team_file(slack_team_spec(members=POLL_MEMBERS)), datetime.now(UTC))
    await engine.dispose()
    env = {
        "TANDEM_DATABASE_URL": database_url,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": fake_slack.api_url,
    }

    async def client(http: aiohttp.ClientSession, served: Served) -> SlackClient:
        return SlackClient(http, fake_slack, f"{served.url}/slack/events")

    async with tandem_serve(env) as served, aiohttp.ClientSession() as http:
        slack = await client(http, served)
        assert (await slack.command("pulse start", user="W111", channel="C111")).status == 200
        await eventually(lambda: all(_posted(fake_slack, f"D{u}", "") for u in ANSWERS), "the invitations")
        for user, value in ANSWERS.items():
            assert (await slack.click(user, invitation_button(slack, user), channel=f"D{user}")).status == 200
            await eventually(lambda: any(f".{user}." in t for t in fake_slack.opened), "the modal")  # noqa: B023
            await eventually(lambda: "submit" in slack.modal_of(user)[1], f"{user}'s form")  # noqa: B023
            view_id, view = slack.modal_of(user)
            assert (await slack.submit(user, view, trust_answers(value), view_id=view_id)).status == 200
            await eventually(lambda: _posted(fake_slack, f"D{user}", "Thank you"), f"{user}'s receipt")  # noqa: B023
        os.kill(served.process.pid, signal.SIGKILL)  # no shutdown of any kind
        await served.process.wait()
    assert served.process.returncode == -signal.SIGKILL
    assert len(await _rows(database_url, PulseSealed.person_id)) == 5  # the five, still sealed

    def released() -> bool:
        return any("5 of 6" in json.dumps(r) for r in _posted(fake_slack, "C111", ""))

    async with tandem_serve(env) as served, aiohttp.ClientSession() as http:
        slack = await client(http, served)
        assert (await slack.command("pulse close", user="W222", channel="C111")).status == 200
        await eventually(released, "the report")
    values = sorted(await _rows(database_url, PulseAnswer.value))
    assert values == sorted(int(v) for v in ANSWERS.values() for _ in range(12))
    assert await _rows(database_url, PulseSealed.person_id) == []

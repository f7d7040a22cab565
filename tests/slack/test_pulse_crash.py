"""A crash between people's submits and the close loses no submission: `tandem serve` is killed with SIGKILL
after five members answered through Slack, started again, and the close counts all five answers."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
from sqlalchemy import select

from flows.setup.team_file import import_team, parse_team_file
from storage.db import create_engine, session_factory
from storage.pulse_models import PulseAnswer, PulseSealed
from tests.serve_process import Served, tandem_serve
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

ANSWERS = {"W111": "1", "W222": "2", "W333": "3", "W444": "4", "W555": "5"}


async def _until(what: str, check: Callable[[], bool], within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


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
        await _until("the invitations", lambda: all(_posted(fake_slack, f"D{u}", "") for u in ANSWERS))
        for user, value in ANSWERS.items():
            assert (await slack.click(user, invitation_button(slack, user), channel=f"D{user}")).status == 200
            await _until(f"{user}'s form", lambda u=user: any(f".{u}." in t for t in fake_slack.opened))  # type: ignore[misc]
            await _until(f"{user}'s form", lambda u=user: "submit" in slack.modal_of(u)[1])  # type: ignore[misc]
            view_id, view = slack.modal_of(user)
            assert (await slack.submit(user, view, trust_answers(value), view_id=view_id)).status == 200
            await _until(f"{user}'s receipt", lambda u=user: bool(_posted(fake_slack, f"D{u}", "Thank you")))  # type: ignore[misc]
        os.kill(served.process.pid, signal.SIGKILL)  # no shutdown of any kind
        await served.process.wait()
    assert served.process.returncode == -signal.SIGKILL
    assert len(await _rows(database_url, PulseSealed.person_id)) == 5  # the five, still sealed

    async with tandem_serve(env) as served, aiohttp.ClientSession() as http:
        slack = await client(http, served)
        assert (await slack.command("pulse close", user="W222", channel="C111")).status == 200
        await _until(
            "the report", lambda: any("5 of 6" in json.dumps(r) for r in _posted(fake_slack, "C111", ""))
        )
    values = sorted(await _rows(database_url, PulseAnswer.value))
    assert values == sorted(int(v) for v in ANSWERS.values() for _ in range(12))
    assert await _rows(database_url, PulseSealed.person_id) == []

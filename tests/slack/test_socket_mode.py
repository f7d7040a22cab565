"""Socket Mode: the same AsyncApp over a WebSocket the fake Slack serves; envelopes acknowledged by id, their
effect once even when Slack redelivers them; the connection closed on shutdown."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from flows.core.clock import ManualClock
from storage.models import ProcessedEvent
from tests.serve_process import tandem_serve
from tests.slack.conftest import (
    BOT_TOKEN,
    BOT_USER,
    SIGNING_SECRET,
    FakeSlack,
    SlackTandem,
    fixture,
    running_tandem,
    slack_team_spec,
    with_response_url,
)

APP_TOKEN = "xapp-1-A111-1-0123456789abcdef"


@pytest.fixture
async def socket_tandem(
    database_url: str, fake_slack: FakeSlack, clock: ManualClock
) -> AsyncIterator[SlackTandem]:
    async with running_tandem(database_url, fake_slack, clock, SLACK_APP_TOKEN=APP_TOKEN) as running:
        yield running


def envelopes(fake: FakeSlack) -> list[dict[str, Any]]:
    # Slack's own envelope (a slash command), its response_url pointed at the fake
    authored = fixture("socket_mode_envelope_slash_command.json")
    authored["payload"]["response_url"] = fake.response_url("authored")
    command = {
        "envelope_id": "c0a5e5b0-0000-4000-8000-00000000c0de",
        "type": "slash_commands",
        "accepts_response_payload": True,
        "payload": {
            **fixture("slash_command.json"),
            "command": "/tandem",
            "text": "norms",
            "user_id": "W111",
            "channel_id": "C111",
            "trigger_id": f"{time.time_ns()}.W111.trigger",
            "response_url": fake.response_url("norms"),
        },
    }
    click = {
        "envelope_id": "c0a5e5b0-0000-4000-8000-0000000c11c4",
        "type": "interactive",
        "accepts_response_payload": False,
        "payload": with_response_url(fixture("block_actions_button.json"), fake.response_url("click")),
    }
    mention_body = fixture("event_app_mention.json")
    mention_body["event"]["text"] = f"<@{BOT_USER}> help"
    mention = {
        "envelope_id": "c0a5e5b0-0000-4000-8000-00000000e7e7",
        "type": "events_api",
        "accepts_response_payload": False,
        "retry_attempt": 0,
        "retry_reason": "",
        "payload": mention_body,
    }
    return [authored, command, click, mention]


async def _processed(tandem: SlackTandem) -> list[str]:
    async with tandem.runtime.sessions() as session:
        return sorted((await session.execute(select(ProcessedEvent.key))).scalars())


def _effects(fake: FakeSlack) -> tuple[list[str], int]:
    return sorted(name for name, _ in fake.responses), len(fake.called("chat.postEphemeral"))


async def test_envelopes_are_acknowledged_and_take_effect_once_even_when_redelivered(
    socket_tandem: SlackTandem,
) -> None:
    fake = socket_tandem.fake
    await asyncio.wait_for(fake.socket_open.wait(), timeout=10)
    (opened,) = fake.called("apps.connections.open")  # through SLACK_API_URL, with the app-level token
    assert opened.token == APP_TOKEN
    await socket_tandem.import_team(slack_team_spec())

    sent = envelopes(fake)
    for envelope in sent:
        await fake.send_envelope(envelope)
    for envelope in sent:
        assert await fake.acked(envelope["envelope_id"]) == [{"envelope_id": envelope["envelope_id"]}]
    await socket_tandem.settle()

    responses, ephemerals = _effects(fake)
    assert responses == ["authored", "click", "norms"] and ephemerals == 1
    texts = {name: str(body) for name, body in fake.responses}
    assert "What Tandem can do" in texts["authored"]  # `/hello-socket-mode` with no text: help
    assert "Seven Norms" in texts["norms"]
    assert "no longer in use" in texts["click"]
    keys = await _processed(socket_tandem)
    assert len(keys) == 4 and "slack:event:Ev111" in keys

    for envelope in sent:  # Slack redelivers each (e.g. after a reconnect), marked as a retry
        await fake.send_envelope({**envelope, "retry_attempt": 1, "retry_reason": "timeout"})
    for envelope in sent:
        assert len(await fake.acked(envelope["envelope_id"], times=2)) == 2
    await socket_tandem.settle()
    assert _effects(fake) == (responses, ephemerals)  # nothing happened twice
    assert await _processed(socket_tandem) == keys


async def test_a_malformed_envelope_is_acknowledged_and_dropped(socket_tandem: SlackTandem) -> None:
    fake = socket_tandem.fake
    bad = {"envelope_id": "bad-1", "type": "interactive", "payload": {"type": "block_actions"}}
    unknown = {"envelope_id": "odd-1", "type": "something_new", "payload": {}}
    await fake.send_envelope(bad)
    await fake.send_envelope(unknown)
    assert await fake.acked("bad-1") == [{"envelope_id": "bad-1"}]
    assert await fake.acked("odd-1") == [{"envelope_id": "odd-1"}]
    await socket_tandem.settle()
    assert await _processed(socket_tandem) == [] and fake.responses == []


async def test_a_lone_surrogate_in_an_envelope_is_dropped_before_the_database(
    socket_tandem: SlackTandem, caplog: pytest.LogCaptureFixture
) -> None:
    fake = socket_tandem.fake
    body = fixture("event_app_mention.json")
    body["event_id"] = "Ev\ud800"  # issue 19: the database driver and the idempotency key failed on it
    await fake.send_envelope({"envelope_id": "sur-1", "type": "events_api", "payload": body})
    assert await fake.acked("sur-1") == [{"envelope_id": "sur-1"}]
    await socket_tandem.settle()
    assert await _processed(socket_tandem) == []
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []


async def test_shutdown_closes_the_socket(
    database_url: str, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    async with running_tandem(database_url, fake_slack, clock, SLACK_APP_TOKEN=APP_TOKEN):
        await asyncio.wait_for(fake_slack.socket_open.wait(), timeout=10)
        assert not fake_slack.socket_closed.is_set()
    await asyncio.wait_for(fake_slack.socket_closed.wait(), timeout=5)
    assert fake_slack.sockets[-1].closed
    assert len(fake_slack.called("apps.connections.open")) == 1  # closed, not reconnecting


@pytest.mark.slow  # a `tandem serve` process: scheduled first (tests/conftest.py)
async def test_tandem_serve_runs_slack_in_socket_mode_and_stops_cleanly(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    env = {
        "TANDEM_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'tandem.db'}",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": fake_slack.api_url,
    }
    async with tandem_serve(env, wait_healthy=False) as served:
        await asyncio.wait_for(fake_slack.socket_open.wait(), timeout=60)
        authored = envelopes(fake_slack)[0]
        await fake_slack.send_envelope(authored)
        assert await fake_slack.acked(authored["envelope_id"]) == [{"envelope_id": authored["envelope_id"]}]
        deadline = time.monotonic() + 30
        while not fake_slack.responses and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        ((name, body),) = fake_slack.responses
        assert name == "authored" and "What Tandem can do" in str(body)
    assert served.process.returncode == 0, served.output
    assert "Slack: on, one workspace (SLACK_BOT_TOKEN), in Socket Mode (SLACK_APP_TOKEN)" in served.output
    assert "Traceback" not in served.output
    await asyncio.wait_for(fake_slack.socket_closed.wait(), timeout=5)

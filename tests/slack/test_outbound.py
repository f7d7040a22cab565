"""Outbox → Slack Web API: the meeting reminder in a Slack channel, updates, DMs, 429s, errors, revocation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from adapters.base import PermanentFailure, RetryLater
from adapters.slack import SlackAdapter
from flows.core.types import Card
from storage import roles, schedules
from storage.models import OutboxMessage, Team
from tests.slack.conftest import BOT_TOKEN, Scripted, SlackTandem, fixture, slack_team_spec, with_response_url


async def _due(tandem: SlackTandem, team: Team) -> datetime:
    async with tandem.runtime.sessions() as session:
        due = (await schedules.for_team(session, team.id, "meeting"))[0].next_fire_at
    assert due is not None
    return due


async def _fire_reminder(tandem: SlackTandem, team: Team) -> None:
    tandem.clock.set(await _due(tandem, team))
    await tandem.runtime.engine.tick()
    await tandem.runtime.worker.drain()


async def _rows(tandem: SlackTandem) -> list[OutboxMessage]:
    """Outbox rows for messages (App Home refreshes, queued when roles change, are left out)."""
    async with tandem.runtime.sessions() as session:
        rows = (await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars()
        return [r for r in rows if not r.target.get("home")]


async def test_meeting_reminder_is_posted_to_the_slack_channel_and_a_pass_updates_it(
    tandem: SlackTandem,
) -> None:
    tandem.clock.set(datetime(2026, 9, 1, 12, 0, tzinfo=UTC))
    team = await tandem.import_team(slack_team_spec())
    await _fire_reminder(tandem, team)

    (post,) = tandem.fake.called("chat.postMessage")
    assert post.args["channel"] == "C111"
    assert post.token == BOT_TOKEN
    blocks = json.dumps(post.args["blocks"])
    assert "Norm of focus" in blocks and "Pass my role" in blocks and "Facilitator" in blocks
    assert post.args["text"].startswith("Slack Solutions Team meets in 30 minutes")
    button = next(e for b in post.args["blocks"] if b["type"] == "actions" for e in b["elements"])

    async with tandem.runtime.sessions() as session:
        meeting = (await roles.history(session, team.id))[0].occurrence_local
        holder_id = (await roles.for_meeting(session, team.id, meeting))[0].person_id
    holder = {1: "W111", 2: "W222", 3: "W333", 4: "W444"}[holder_id]

    payload = with_response_url(fixture("block_actions_button.json"), tandem.fake.response_url("pass"))
    payload["user"]["id"] = holder
    payload["container"]["message_ts"] = post.args.get("ts", "1700000000.000001")
    payload["actions"][0].update(action_id=button["action_id"], value=button["value"])
    assert (await tandem.interactive(payload)).status == 200
    await tandem.settle()

    (update,) = tandem.fake.called("chat.update")
    assert update.args["channel"] == "C111" and update.args["ts"] == "1700000000.000001"
    assert "takes it" in json.dumps(tandem.fake.called("chat.postMessage")[-1].args["blocks"])
    assert "your role is passed" in tandem.fake.responses[-1][1]["text"]
    assert all(r.status == "sent" for r in await _rows(tandem))


async def test_a_429_storm_during_a_fan_out_still_delivers_every_message_once(tandem: SlackTandem) -> None:
    tandem.clock.set(datetime(2026, 9, 1, 12, 0, tzinfo=UTC))
    channels = [{"platform": "slack", "id": f"C{i:03d}", "name": f"#c{i}"} for i in range(12)]
    team = await tandem.import_team(slack_team_spec(channels=channels))
    tandem.fake.then(
        "chat.postMessage",
        *[Scripted(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "7"}) for _ in range(20)],
    )
    await _fire_reminder(tandem, team)
    rows = await _rows(tandem)
    assert len(rows) == 12 and all(r.status == "pending" and r.attempts == 1 for r in rows)
    assert {r.next_attempt_at for r in rows} == {
        tandem.clock.now() + timedelta(seconds=7)
    }  # Retry-After honoured
    for _ in range(5):
        tandem.clock.advance(timedelta(seconds=7))
        await tandem.runtime.worker.drain()
    sent = tandem.fake.called("chat.postMessage")
    assert sorted(c.args["channel"] for c in sent) == sorted(c["id"] for c in channels)
    assert len(tandem.fake.called("chat.postMessage!failed")) == 20
    assert all(r.status == "sent" for r in await _rows(tandem))


async def test_channel_not_found_fails_for_good_and_is_kept_with_the_team(tandem: SlackTandem) -> None:
    tandem.clock.set(datetime(2026, 9, 1, 12, 0, tzinfo=UTC))
    team = await tandem.import_team(slack_team_spec())
    tandem.fake.then("chat.postMessage", Scripted(200, {"ok": False, "error": "channel_not_found"}))
    await _fire_reminder(tandem, team)
    (row,) = await _rows(tandem)
    assert row.status == "failed" and row.team_id == team.id
    assert row.last_error is not None and "channel_not_found" in row.last_error


async def test_tokens_revoked_stops_sending_and_keeps_the_data(tandem: SlackTandem) -> None:
    tandem.clock.set(datetime(2026, 9, 1, 12, 0, tzinfo=UTC))
    team = await tandem.import_team(slack_team_spec())
    body = {
        "type": "event_callback",
        "team_id": "T111",
        "event_id": "EvRevoked",
        "event_time": 1,
        "event": {"type": "tokens_revoked", "tokens": {"bot": ["UBOT"]}},
    }
    assert (await tandem.event(body)).status == 200
    await tandem.settle()
    await _fire_reminder(tandem, team)
    assert tandem.fake.called("chat.postMessage") == []
    (row,) = await _rows(tandem)
    assert row.status == "failed" and "uninstalled" in (row.last_error or "")
    async with tandem.runtime.sessions() as session:
        assert await session.get(Team, team.id) is not None


async def test_adapter_opens_dms_posts_ephemerals_and_classifies_errors(tandem: SlackTandem) -> None:
    adapter = tandem.inbound.adapter
    assert isinstance(adapter, SlackAdapter)
    ref = await adapter.send({"user": "W222", "workspace": "", "person_id": 2}, Card.plain("hello"))
    assert ref == "DW222:1700000000.000001"
    assert tandem.fake.called("conversations.open")[0].args == {"users": "W222"}
    assert await adapter.send({"address": "C111", "private_to": "W333"}, Card.plain("psst")) is None
    assert tandem.fake.called("chat.postEphemeral")[0].args["user"] == "W333"
    assert await adapter.update({"address": "C111"}, "C111:1.2", Card.plain("edited")) == "C111:1.2"

    tandem.fake.then("chat.postMessage", Scripted(503, {"ok": False, "error": "service_unavailable"}))
    with pytest.raises(RetryLater):
        await adapter.send({"address": "C111"}, Card.plain("x"))
    tandem.fake.then("chat.postMessage", Scripted(200, {"ok": False, "error": "not_in_channel"}))
    with pytest.raises(PermanentFailure):
        await adapter.send({"address": "C111"}, Card.plain("x"))
    tandem.fake.then("chat.postMessage", Scripted(delay=2.0))
    adapter.timeout = 1
    with pytest.raises(RetryLater, match="in time"):
        await adapter.send({"address": "C111"}, Card.plain("slow"))
    adapter.timeout = 10
    tandem.fake.then("chat.update", Scripted(200, {"ok": False, "error": "message_not_found"}))
    ref = await adapter.update({"address": "C111"}, "C111:9.9", Card.plain("again"))
    assert ref is not None and ref.startswith("C111:")  # the message was gone: posted anew


async def test_app_home_is_republished_for_every_member_when_roles_are_announced(tandem: SlackTandem) -> None:
    tandem.clock.set(datetime(2026, 9, 1, 12, 0, tzinfo=UTC))
    team = await tandem.import_team(slack_team_spec())
    await _fire_reminder(tandem, team)
    published = tandem.fake.called("views.publish")
    assert sorted(c.args["user_id"] for c in published) == ["W111", "W222", "W333", "W444"]
    # Each view is the person's own: the meeting, and their role in it (or none).
    texts = {c.args["user_id"]: json.dumps(c.args["view"]) for c in published}
    assert all("Slack Solutions Team" in t and "Tue 1 Sep, 4:00 PM PDT" in t for t in texts.values())
    roles = [t for t in texts.values() if "Facilitator" in t or "Note-taker" in t or "Timekeeper" in t]
    assert len(roles) == 3 and sum("no role this time" in t for t in texts.values()) == 1
    assert not [
        c for c in tandem.fake.called("chat.postMessage") if c.args.get("channel", "").startswith("W")
    ]

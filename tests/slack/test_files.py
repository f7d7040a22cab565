"""Stored images (the pulse trend chart, kept in the database with its poll) reach Slack with files upload
v2, once, after their message."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from flows.core import outbox as flow_outbox
from flows.core.types import Card, Delivery, Image, Recipient, Text
from storage import images, pulse
from storage.images import StoredImage
from storage.models import OutboxMessage
from tests.pulse.conftest import stored_chart
from tests.slack.conftest import (
    BOT_TOKEN,
    Scripted,
    SlackTandem,
    invitation_button,
    slack_team_spec,
    start_poll,
    trust_answers,
)

START = datetime(2026, 10, 5, 16, 0, tzinfo=UTC)


async def run_poll_to_release(tandem: SlackTandem) -> StoredImage:
    """A trust poll through Slack: a co-chair starts it, five members press the invitation's button and
    submit the modal, the co-chair closes it and the report is released; its chart, as stored."""
    tandem.clock.set(START)
    team = await start_poll(tandem)
    items = trust_answers()
    for user in ("W111", "W222", "W333", "W444", "W555"):
        assert (await tandem.click(user, invitation_button(tandem, user), channel=f"D{user}")).status == 200
        await tandem.settle()
        view_id, view = tandem.modal_of(user)
        assert view["callback_id"] == "pulse.submit"
        assert (await tandem.submit(user, view, items, view_id=view_id)).status == 200
        await tandem.settle()
    tandem.clock.advance(timedelta(hours=1))
    assert (await tandem.command("pulse close", user="W111", channel="C111")).status == 200
    await tandem.settle()
    async with tandem.runtime.sessions() as session:
        poll = await pulse.latest_released(session, team.id)
        assert poll is not None
        chart = await images.load(session, images.chart_name(poll.id))
    assert chart is not None
    return chart


def report_posts(tandem: SlackTandem) -> list[dict[str, Any]]:
    return [
        c.args
        for c in tandem.fake.called("chat.postMessage")
        if c.args["text"].startswith("Relational Trust Self-Assessment results")
    ]


async def test_the_released_report_is_posted_then_its_chart_uploaded_to_the_same_conversations(
    tandem: SlackTandem,
) -> None:
    chart = await run_poll_to_release(tandem)

    posts = report_posts(tandem)
    assert sorted(p["channel"] for p in posts) == ["C111", "DW111", "DW222"]  # the channel, each co-chair
    for post in posts:  # Slack's image block cannot show a stored image: none is sent
        assert all(b["type"] != "image" for b in post["blocks"])
        assert "tandem-image" not in json.dumps(post)
    shared = tandem.fake.shared_files
    assert sorted(f["channel"] for f in shared) == ["C111", "DW111", "DW222"]
    for entry in shared:
        assert tandem.fake.uploads[entry["id"]] == chart.content
        assert entry["name"] == chart.name and entry["title"].startswith("Relational Trust Self-Assessment")
    requested = tandem.fake.called("files.getUploadURLExternal")
    assert len(requested) == 3
    assert all(int(c.args["length"]) == len(chart.content) and c.token == BOT_TOKEN for c in requested)
    assert all("component means" in c.args["alt_txt"] for c in requested)
    # each upload comes after its message, to the same conversation
    for entry in shared:
        completed = next(
            c for c in tandem.fake.called("files.completeUploadExternal") if entry["id"] in c.args["files"]
        )
        posted = next(
            c
            for c in tandem.fake.called("chat.postMessage")
            if c.args["channel"] == entry["channel"] and c.args in posts
        )
        assert posted.at <= completed.at
    async with tandem.runtime.sessions() as session:
        rows = (await session.execute(select(OutboxMessage))).scalars().all()
    assert all(r.status == "sent" for r in rows), [(r.status, r.last_error) for r in rows]


async def test_a_429_on_complete_upload_retries_the_upload_without_posting_the_message_again(
    tandem: SlackTandem,
) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
    tandem.clock.set(START)
    team = await tandem.import_team(slack_team_spec())
    chart = await stored_chart(tandem.runtime.sessions, team.id, png)
    card = Card("Results", (Text("The results"), Image(chart, "Trend of the four components")))
    tandem.fake.then(
        "files.completeUploadExternal",
        Scripted(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "30"}),
    )
    async with tandem.runtime.sessions() as session, session.begin():
        await flow_outbox.enqueue(session, Delivery(Recipient.team_channels(team.id), card, team.id), START)
    await tandem.runtime.worker.drain()

    (row,) = await _rows(tandem)
    assert row.status == "pending" and row.attempts == 1 and "rate limited" in (row.last_error or "")
    assert row.next_attempt_at == START + timedelta(seconds=30)  # Retry-After honoured
    assert len(tandem.fake.called("chat.postMessage")) == 1
    assert len(tandem.fake.called("files.completeUploadExternal!failed")) == 1
    assert tandem.fake.shared_files == []

    tandem.clock.advance(timedelta(seconds=30))
    await tandem.runtime.worker.drain()
    (row,) = await _rows(tandem)
    assert row.status == "sent" and row.platform_ref == "C111:1700000000.000001"
    assert len(tandem.fake.called("chat.postMessage")) == 1  # not posted twice
    (entry,) = tandem.fake.shared_files
    assert entry["channel"] == "C111" and tandem.fake.uploads[entry["id"]] == png


async def test_a_chart_no_longer_stored_fails_the_message_for_good_with_the_team(
    tandem: SlackTandem, caplog: pytest.LogCaptureFixture
) -> None:
    tandem.clock.set(START)
    team = await tandem.import_team(slack_team_spec())
    card = Card("Results", (Text("The results"), Image(images.chart_ref(999), "Trend")))
    async with tandem.runtime.sessions() as session, session.begin():
        await flow_outbox.enqueue(session, Delivery(Recipient.team_channels(team.id), card, team.id), START)
    await tandem.runtime.worker.drain()

    (row,) = await _rows(tandem)
    assert row.status == "failed" and row.team_id == team.id and row.attempts == 1
    assert row.last_error is not None and "pulse-chart-999.png" in row.last_error
    assert "not available" in row.last_error
    assert tandem.fake.called("chat.postMessage") == []  # nothing half-posted
    assert tandem.fake.called("files.getUploadURLExternal") == []
    assert any(f"for team {team.id} failed for good" in r.getMessage() for r in caplog.records)


async def test_a_private_reply_shows_the_images_description_instead_of_uploading(
    tandem: SlackTandem,
) -> None:
    adapter = tandem.inbound.adapter
    card = Card("Results", (Text("The results"), Image(images.chart_ref(1), "Trend of trust")))
    assert await adapter.send({"address": "C111", "private_to": "W333"}, card) is None
    (ephemeral,) = tandem.fake.called("chat.postEphemeral")
    assert "Image not shown here: Trend of trust" in json.dumps(ephemeral.args["blocks"])
    assert tandem.fake.called("files.getUploadURLExternal") == []


async def _rows(tandem: SlackTandem) -> list[OutboxMessage]:
    async with tandem.runtime.sessions() as session:
        rows = (await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars()
        return [r for r in rows if not r.target.get("home")]

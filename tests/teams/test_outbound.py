"""Outbound: proactive sends and updates through the Bot Connector, rate limits and removed apps."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from adapters.base import PermanentFailure, RetryLater
from adapters.teams.outbound import ConversationPacer
from flows.core.types import Card
from storage.models import OutboxMessage
from tests.teams.conftest import INSTALLED_CHANNEL as CHANNEL
from tests.teams.conftest import TeamsRig


async def _installed(rig: TeamsRig) -> None:
    assert (await rig.post(rig.activity("conversation_update_bot_added_to_team")))[0] == 200


async def test_send_and_update_a_channel_post(rig: TeamsRig) -> None:
    await _installed(rig)
    ref = await rig.adapter.send({"address": CHANNEL}, Card.plain("first"))
    assert ref is not None
    assert await rig.adapter.update({"address": CHANNEL}, ref, Card.plain("second")) == ref
    post, put = [c for c in rig.connector.calls if c.method in ("POST", "PUT")]
    assert (post.method, post.conversation) == ("POST", CHANNEL)
    assert (put.method, put.conversation, put.activity_id) == ("PUT", CHANNEL, ref)
    assert "second" in rig.connector.text(put)
    assert put.body["from"]["id"] == "28:608cacfd-1cea-40c9-b678-4b93e69bb72b"  # the bot, from the install


async def test_a_thread_reply_goes_to_the_thread(rig: TeamsRig) -> None:
    await _installed(rig)
    await rig.adapter.send({"address": CHANNEL, "thread": "1759881511856"}, Card.plain("in the thread"))
    [send] = rig.connector.sends()
    assert send.conversation == f"{CHANNEL};messageid=1759881511856"


@pytest.mark.parametrize(
    ("status", "headers", "after"),
    [(429, {"Retry-After": "7"}, 7.0), (412, {}, None), (502, {}, None), (504, {}, None)],
)
async def test_throttling_and_gateway_errors_retry_later(
    rig: TeamsRig, status: int, headers: dict[str, str], after: float | None
) -> None:
    await _installed(rig)
    rig.connector.fail_next(status, headers)
    with pytest.raises(RetryLater) as caught:
        await rig.adapter.send({"address": CHANNEL}, Card.plain("x"))
    assert caught.value.retry_after == after
    assert await rig.adapter.send({"address": CHANNEL}, Card.plain("x"))  # the next try goes through


@pytest.mark.parametrize("status", [403, 404])
async def test_a_removed_app_is_a_permanent_failure(rig: TeamsRig, status: int) -> None:
    await _installed(rig)
    rig.connector.fail_next(status)
    with pytest.raises(PermanentFailure):
        await rig.adapter.send({"address": CHANNEL}, Card.plain("x"))


async def test_a_channel_of_an_uninstalled_team_fails_for_good(rig: TeamsRig) -> None:
    with pytest.raises(PermanentFailure, match="not been added"):
        await rig.adapter.send({"address": CHANNEL}, Card.plain("x"))
    with pytest.raises(PermanentFailure, match="not installed"):
        await rig.adapter.send({"user": "aad-nobody"}, Card.plain("x"))


async def test_the_worker_honours_retry_after_and_records_permanent_failures(rig: TeamsRig) -> None:
    await _installed(rig)
    for text in ("one", "two"):
        await rig.queue(text)
    rig.connector.fail_next(429, {"Retry-After": "30"})
    rig.connector.fail_next(403)
    await rig.deliver()
    async with rig.runtime.sessions() as session:
        rows = list((await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())
    assert rows[0].status == "pending" and rows[0].attempts == 1 and "429" in (rows[0].last_error or "")
    assert (rows[0].next_attempt_at - rig.clock.now()).total_seconds() == 30
    assert rows[1].status == "failed" and "403" in (rows[1].last_error or "")


async def test_the_pacer_spaces_sends_into_one_conversation() -> None:
    """Seven a second into one conversation; other conversations are not held up (no real sleeping)."""
    now = [100.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(round(seconds, 6))

    pacer = ConversationPacer(7.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        await pacer.wait("channel-a")
    await pacer.wait("channel-b")
    assert waits == [round(1 / 7, 6), round(2 / 7, 6)]  # a's 2nd and 3rd wait their slots; b goes at once
    now[0] += 10
    await pacer.wait("channel-a")
    assert len(waits) == 2  # after a quiet spell, no wait

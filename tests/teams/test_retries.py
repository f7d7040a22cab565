"""One retry mechanism: the outbox. Teams answers 429/412/502/504 under load; botbuilder's HTTP client
(msrest on requests/urllib3) would otherwise retry some of them inside the send (urllib3 retries PUT, i.e.
card updates, on 5xx, and connection errors on any verb), hiding them from the outbox and doubling the
load at the worst moment. Each send or update is exactly one call to the Bot Connector; the delivery
worker retries with back-off."""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from adapters.base import RetryLater
from flows.core.types import Card
from storage.models import OutboxMessage
from tests.connect_attempts import counting
from tests.teams.conftest import INSTALLED_CHANNEL as CHANNEL
from tests.teams.conftest import TeamsRig

STATUSES = [412, 429, 500, 502, 503, 504]


async def _installed(rig: TeamsRig) -> None:
    assert (await rig.post(rig.activity("conversation_update_bot_added_to_team")))[0] == 200
    await rig.deliver()
    rig.connector.calls.clear()
    async with rig.runtime.sessions() as session, session.begin():  # its welcome: not counted here
        await session.execute(delete(OutboxMessage))


async def _rows(rig: TeamsRig) -> list[OutboxMessage]:
    async with rig.runtime.sessions() as session:
        return list((await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())


def _writes(rig: TeamsRig, method: str) -> int:
    return len([c for c in rig.connector.calls if c.method == method and c.conversation == CHANNEL])


@pytest.mark.parametrize("status", STATUSES)
async def test_a_failed_post_is_one_call_and_the_outbox_retries_it(rig: TeamsRig, status: int) -> None:
    await _installed(rig)
    await rig.queue("hello")
    rig.connector.fail_next(status)
    await rig.deliver()
    assert _writes(rig, "POST") == 1  # no retry inside the send
    [row] = await _rows(rig)
    assert row.status == "pending" and row.attempts == 1 and str(status) in (row.last_error or "")
    await rig.deliver()
    assert _writes(rig, "POST") == 1  # nothing before the back-off
    rig.clock.advance(timedelta(seconds=2))  # the worker's first back-off (no Retry-After given)
    await rig.deliver()
    assert _writes(rig, "POST") == 2  # exactly the outbox's retry, which goes through
    [row] = await _rows(rig)
    assert row.status == "sent" and row.platform_ref


@pytest.mark.parametrize("status", STATUSES)
async def test_a_failed_card_update_is_one_call_and_the_outbox_retries_it(rig: TeamsRig, status: int) -> None:
    await _installed(rig)
    await rig.queue("first", message_key="card-1")
    await rig.deliver()
    [original] = await _rows(rig)
    assert original.status == "sent" and original.platform_ref
    await rig.queue("second", replaces_key="card-1")
    rig.connector.fail_next(status)
    await rig.deliver()
    assert _writes(rig, "PUT") == 1  # urllib3 would have retried this PUT on 5xx by itself
    replacement = (await _rows(rig))[1]
    assert replacement.status == "pending" and replacement.attempts == 1
    rig.clock.advance(timedelta(seconds=2))
    await rig.deliver()
    puts = [c for c in rig.connector.calls if c.method == "PUT"]
    assert len(puts) == 2 and {c.activity_id for c in puts} == {original.platform_ref}
    assert "second" in rig.connector.text(puts[-1])
    assert (await _rows(rig))[1].status == "sent"


async def test_a_dropped_connection_is_one_attempt_then_retry_later(rig: TeamsRig) -> None:
    """A Bot Connector that accepts and drops the connection: one connection per send or update (urllib3
    reconnected a PUT three more times, with back-off, inside the send), then RetryLater."""
    accepted = 0

    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted
        accepted += 1
        writer.close()

    server = await asyncio.start_server(drop, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        install = rig.activity(
            "conversation_update_bot_added_to_team", serviceUrl=f"http://127.0.0.1:{port}/"
        )
        assert (await rig.post(install))[0] == 200  # the roster read fails: best effort
        for attempt in (
            lambda: rig.adapter.update({"address": CHANNEL}, "msg-1", Card.plain("x")),
            lambda: rig.adapter.send({"address": CHANNEL}, Card.plain("x")),
        ):
            accepted = 0
            with pytest.raises(RetryLater, match="cannot reach the Bot Connector"):
                await attempt()
            assert accepted == 1
    finally:
        server.close()
        await server.wait_closed()


async def test_a_refused_connection_is_retry_later_at_once(rig: TeamsRig) -> None:
    """Nothing listening: RetryLater straight away (urllib3 reconnected three times, sleeping 0 + 1.6 +
    3.2 s inside the send)."""
    with socket.socket() as probe:  # a port that was free a moment ago, now closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    install = rig.activity("conversation_update_bot_added_to_team", serviceUrl=f"http://127.0.0.1:{port}/")
    assert (await rig.post(install))[0] == 200
    with counting() as attempts, pytest.raises(RetryLater, match="cannot reach the Bot Connector"):
        await rig.adapter.send({"address": CHANNEL}, Card.plain("x"))
    assert [a for a in attempts if a[1] == port] == [("127.0.0.1", port)]  # one attempt, no retry inside

"""Rows handed to the delivery worker as they are written: no claim transaction, nothing lost on a crash."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, event
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.local.adapter import LocalAdapter
from bot.delivery import DeliveryWorker
from flows.core.outbox import Handover, enqueue
from flows.core.types import Card, Delivery, Recipient
from storage import outbox
from storage.db import create_engine, session_factory
from storage.models import OutboxMessage, OutboxStatus
from tests.conftest import Stack, team_spec


@contextmanager
def statements(sessions_engine: AsyncEngine) -> Iterator[list[str]]:
    """Every SQL statement run on the engine while inside the block."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(sessions_engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(sessions_engine.sync_engine, "before_cursor_execute", record)


def _engine_of(stack: Stack) -> AsyncEngine:
    bind = stack.sessions.kw["bind"]
    assert isinstance(bind, AsyncEngine)
    return bind


async def _rows(stack: Stack) -> list[Any]:
    async with stack.sessions() as session:
        return await outbox.messages(session)


async def test_a_reply_goes_to_the_running_worker_without_a_claim(stack: Stack) -> None:
    """The reply to a command is stored already leased to the worker that runs here and handed to it:
    it goes out at once with no claim statement and no look at the queue (the poll is an hour away)."""
    await stack.import_team(team_spec())
    stack.worker.takes_hand_over = False  # run_forever turns it on, as in `tandem serve`
    stack.worker.poll_seconds = 3600
    running = asyncio.create_task(stack.worker.run_forever())
    try:
        async with asyncio.timeout(10):
            while not stack.worker.takes_hand_over:
                await asyncio.sleep(0.01)
            with statements(_engine_of(stack)) as seen:
                await stack.local.command("cy", "help")
                while not stack.local.transcript:
                    await asyncio.sleep(0.01)
                while (await _rows(stack))[-1].status != OutboxStatus.sent:
                    await asyncio.sleep(0.01)
    finally:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
    assert stack.local.transcript[-1].text.startswith("WHAT TANDEM CAN DO")
    updates = [s for s in seen if s.startswith("UPDATE outbox")]
    assert len(updates) == 1 and "sent_at" in updates[0]  # the record of the send, and no claim
    assert not [s for s in seen if "min(outbox.next_attempt_at)" in s]
    assert stack.worker.stats.sent == 1 and not stack.worker.takes_hand_over


async def test_a_handed_row_whose_worker_died_is_sent_once_by_the_next(stack: Stack) -> None:
    """The worker dies after the commit, before sending: the row is leased, so nobody takes it until
    the lease ends; then another worker claims it and sends it, once."""
    await stack.import_team(team_spec())
    await stack.local.command("cy", "help")  # handed to stack.worker, which never sends it
    [row] = await _rows(stack)
    assert row.status == OutboxStatus.sending and row.claimed_by == stack.worker.name
    other = LocalAdapter()
    second = DeliveryWorker(stack.sessions, {"local": other}, stack.clock)
    assert await second.drain() == 0  # still leased to the first worker
    stack.clock.advance(stack.worker.lease + timedelta(seconds=1))
    assert await second.drain() == 1
    assert await second.drain() == 0
    assert [e.text.splitlines()[0] for e in other.transcript] == ["WHAT TANDEM CAN DO"]
    assert [r.status for r in await _rows(stack)] == [OutboxStatus.sent]


async def test_a_stopping_worker_gives_its_rows_back_at_once(stack: Stack) -> None:
    await stack.import_team(team_spec())
    await stack.local.command("cy", "help")
    await stack.local.command("ana", "help")
    assert await stack.worker.release() == 2
    assert [r.status for r in await _rows(stack)] == [OutboxStatus.pending] * 2
    assert await stack.worker.send_handed() == 0  # forgotten: the rows are the next worker's now
    other = LocalAdapter()
    assert await DeliveryWorker(stack.sessions, {"local": other}, stack.clock).drain() == 2
    assert len(other.transcript) == 2


async def test_only_ready_rows_for_the_workers_platforms_are_leased(stack: Stack) -> None:
    team = await stack.import_team(team_spec())
    now = stack.clock.now()
    handover = Handover(outbox.Lease("w1", now + timedelta(seconds=60), frozenset({"local"})))
    card = Card.plain("hello")
    async with stack.sessions() as session, session.begin():
        here = Recipient.team_channels(team.id)
        elsewhere = Recipient(kind="conversation", platform="slack", address="C1")
        await enqueue(session, Delivery(here, card, team_id=team.id), now, None, handover)
        await enqueue(session, Delivery(elsewhere, card, team_id=team.id), now, None, handover)
        later = now + timedelta(minutes=5)
        await enqueue(session, Delivery(here, card, team_id=team.id), now, later, handover)
    rows = await _rows(stack)
    assert [(r.platform, r.status, r.claimed_by) for r in rows] == [
        ("local", OutboxStatus.sending, "w1"),
        ("slack", OutboxStatus.pending, None),
        ("local", OutboxStatus.pending, None),
    ]
    assert [m.id for m in handover.messages] == [rows[0].id]


async def test_a_replacement_in_the_same_transaction_rides_on_the_handed_message(stack: Stack) -> None:
    """A message and its replacement written together: one row, one message handed over, both with
    the replacement's content (as for a row still waiting in the queue)."""
    team = await stack.import_team(team_spec())
    now = stack.clock.now()
    handover = Handover(outbox.Lease("w1", now + timedelta(seconds=60), frozenset({"local"})))
    here = Recipient.team_channels(team.id)
    async with stack.sessions() as session, session.begin():
        first = Delivery(here, Card.plain("draft"), team_id=team.id, key="k")
        second = Delivery(here, Card.plain("final"), team_id=team.id, key="k", replaces="k")
        assert await enqueue(session, first, now, None, handover) == 1
        assert await enqueue(session, second, now, None, handover) == 0
    [row] = await _rows(stack)
    [message] = handover.messages
    assert message.id == row.id and message.message_key == "k"
    assert row.payload is not None and row.payload["summary"] == "final"
    assert message.payload["summary"] == "final"


async def test_a_send_recorded_outside_a_transaction_leaves_the_connection_transactional(
    database_url: str,
) -> None:
    """On PostgreSQL one send is recorded in autocommit mode; the pooled connection must come back
    transactional, or a later transaction that fails half-way would keep its first half."""
    engine = create_engine(database_url, pool_size=1)
    sessions = session_factory(engine)
    try:
        now = datetime.now(UTC)
        async with sessions() as session, session.begin():
            message = await outbox.add(
                session,
                team_id=None,
                platform="local",
                target={"address": "x"},
                payload={"summary": "s"},
                sensitive=True,
                now=now,
                lease=outbox.Lease("w1", now + timedelta(seconds=60), frozenset({"local"})),
            )
        assert message is not None
        await outbox.record_sent(sessions, [(message.id, "ref-1")], now)
        with pytest.raises(RuntimeError):
            async with sessions() as session, session.begin():
                await outbox.release(session, "nobody")
                await session.execute(delete(OutboxMessage))
                raise RuntimeError("half-way")
        async with sessions() as session:
            [row] = await outbox.messages(session)
        assert (row.status, row.platform_ref, row.payload) == (OutboxStatus.sent, "ref-1", None)
    finally:
        await engine.dispose()


class GatedAdapter:
    """Records what it sends; the first send waits until `gate` opens."""

    platform = "local"

    def __init__(self) -> None:
        self.delivered: list[str] = []
        self.first_started = asyncio.Event()
        self.gate = asyncio.Event()

    async def send(self, target: dict[str, Any], card: Card) -> str | None:
        if not self.first_started.is_set():
            self.first_started.set()
            await self.gate.wait()
        self.delivered.append(card.summary)
        return f"ref-{card.summary}"


async def test_a_reply_does_not_wait_for_a_long_fan_out_to_end(stack: Stack) -> None:
    """A batch of queued messages is going out one at a time when a reply is handed over: the reply goes
    right after the message in flight, not after the whole batch (whose end could be minutes away,
    longer than the reply's lease)."""
    team = await stack.import_team(team_spec())
    now = stack.clock.now()
    async with stack.sessions() as session, session.begin():
        for i in range(5):
            await enqueue(session, Delivery(Recipient.team_channels(team.id), Card.plain(f"m{i}")), now)
    adapter = GatedAdapter()
    worker = DeliveryWorker(stack.sessions, {"local": adapter}, stack.clock, concurrency=1)
    worker.takes_hand_over = True
    batch = asyncio.create_task(worker.run_once(woken=True))
    await asyncio.wait_for(adapter.first_started.wait(), timeout=10)
    lease = worker.lease_for(now)
    assert lease is not None
    handover = Handover(lease)
    async with stack.sessions() as session, session.begin():
        reply = Delivery(Recipient.team_channels(team.id), Card.plain("reply"))
        await enqueue(session, reply, now, None, handover)
    worker.hand_over(handover.messages)
    adapter.gate.set()
    assert await asyncio.wait_for(batch, timeout=10) == 6
    assert adapter.delivered == ["m0", "reply", "m1", "m2", "m3", "m4"]


async def test_a_handed_row_near_the_end_of_its_lease_is_left_to_the_next_claim(stack: Stack) -> None:
    """A reply that waited in memory until its lease nearly ended is not sent from memory (a worker
    claiming it when the lease ends would send it as well): it goes out once, through that claim."""
    await stack.import_team(team_spec())
    await stack.local.command("cy", "help")
    stack.clock.advance(stack.worker.lease - timedelta(seconds=5))
    assert await stack.worker.send_handed() == 0
    assert not stack.local.transcript
    assert [r.status for r in await _rows(stack)] == [OutboxStatus.sending]
    stack.clock.advance(timedelta(seconds=6))
    assert await stack.worker.drain() == 1
    assert await stack.worker.drain() == 0
    assert len(stack.local.transcript) == 1
    assert [r.status for r in await _rows(stack)] == [OutboxStatus.sent]

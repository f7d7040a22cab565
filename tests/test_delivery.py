"""Durable delivery: crash recovery, retries with back-off, Retry-After, permanent failures."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.base import PermanentFailure, RetryLater
from bot.delivery import DeliveryWorker
from flows.core.clock import ManualClock
from flows.core.outbox import enqueue
from flows.core.types import Card, Delivery, Recipient
from storage import outbox
from storage.models import OutboxStatus
from tests.conftest import Stack, team_spec

# The outbox's concurrency, locking, erasure and pruning run on PostgreSQL as well; the worker's retry and
# backoff rules, on SQLite alone (tests/conftest.py).


class FlakyAdapter:
    platform = "local"

    def __init__(self, crash_after: int | None = None, script: list[Exception] | None = None) -> None:
        self.crash_after = crash_after
        self.script = list(script or [])
        self.delivered: list[str] = []
        self.attempts = 0
        self.dying = asyncio.Event()

    async def send(self, target: dict[str, Any], card: Card) -> str | None:
        self.attempts += 1
        if self.crash_after is not None and len(self.delivered) >= self.crash_after:
            # This message reaches the platform, then the process is killed before anything is recorded.
            self.delivered.append(card.summary)
            self.dying.set()
            await asyncio.Event().wait()
        if self.script:
            raise self.script.pop(0)
        self.delivered.append(card.summary)
        return f"ref-{card.summary}"


async def _kill_midway(worker: DeliveryWorker, adapter: FlakyAdapter) -> None:
    """Run a batch and kill the worker (as SIGKILL would) once the adapter is at its crash point."""
    task = asyncio.create_task(worker.run_once())
    await asyncio.wait_for(adapter.dying.wait(), timeout=10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def _rows(stack: Stack) -> list[Any]:
    async with stack.sessions() as session:
        return await outbox.messages(session)


async def _enqueue(stack: Stack, n: int, *, sensitive: bool = False) -> None:
    team = await stack.import_team(team_spec())
    async with stack.sessions() as session, session.begin():
        for i in range(n):
            await enqueue(
                session,
                Delivery(
                    Recipient.team_channels(team.id),
                    Card.plain(f"m{i:02d}"),
                    team_id=team.id,
                    sensitive=sensitive,
                ),
                stack.clock.now(),
            )


@pytest.mark.both_databases
async def test_a_worker_that_dies_mid_batch_loses_nothing(stack: Stack) -> None:
    await _enqueue(stack, 20)
    dying = FlakyAdapter(crash_after=7)
    first = DeliveryWorker(
        stack.sessions, {"local": dying}, stack.clock, batch=50, lease=timedelta(seconds=60)
    )
    await _kill_midway(first, dying)
    # A new worker starts; the dead worker's lease must run out before its rows are taken over.
    survivor = FlakyAdapter()
    second = DeliveryWorker(stack.sessions, {"local": survivor}, stack.clock, batch=50)
    assert await second.drain() == 0
    stack.clock.advance(timedelta(seconds=61))
    await second.drain()
    everything = Counter(dying.delivered + survivor.delivered)
    assert set(everything) == {f"m{i:02d}" for i in range(20)}
    twice = [m for m, n in everything.items() if n > 1]
    assert twice == ["m07"]  # only the message in flight at the crash
    async with stack.sessions() as session:
        rows = await outbox.messages(session)
    assert {r.status for r in rows} == {OutboxStatus.sent}
    assert all(r.platform_ref for r in rows)


@pytest.mark.both_databases
async def test_a_crash_while_sending_concurrently_resends_only_the_chunk_in_flight(stack: Stack) -> None:
    async with stack.sessions() as session, session.begin():
        for i in range(20):  # twenty different conversations, so chunks can be sent at once
            recipient = Recipient(kind="conversation", platform="local", address=f"c{i}")
            await enqueue(session, Delivery(recipient, Card.plain(f"m{i:02d}")), stack.clock.now())
    dying = FlakyAdapter(crash_after=11)  # chunks of 4: m00-m03 and m04-m07 recorded; m08-m11 in flight
    first = DeliveryWorker(stack.sessions, {"local": dying}, stack.clock, batch=50, concurrency=4)
    await _kill_midway(first, dying)
    survivor = FlakyAdapter()
    second = DeliveryWorker(stack.sessions, {"local": survivor}, stack.clock, batch=50, concurrency=4)
    stack.clock.advance(timedelta(seconds=61))
    await second.drain()
    everything = Counter(dying.delivered + survivor.delivered)
    assert set(everything) == {f"m{i:02d}" for i in range(20)}
    twice = sorted(m for m, n in everything.items() if n > 1)
    assert twice == ["m08", "m09", "m10", "m11"]


@pytest.mark.both_databases
async def test_a_conversation_gets_its_messages_in_order_even_when_sent_concurrently(stack: Stack) -> None:
    team = await stack.import_team(team_spec())
    async with stack.sessions() as session, session.begin():
        for i in range(12):
            recipient = Recipient.team_channels(team.id) if i % 3 else Recipient.person(1)
            await enqueue(
                session, Delivery(recipient, Card.plain(f"m{i:02d}"), team_id=team.id), stack.clock.now()
            )
    adapter = FlakyAdapter()
    await DeliveryWorker(stack.sessions, {"local": adapter}, stack.clock, concurrency=8).drain()
    channel = [m for m in adapter.delivered if int(m[1:]) % 3]
    direct = [m for m in adapter.delivered if not int(m[1:]) % 3]
    assert channel == sorted(channel) and direct == sorted(direct) and len(adapter.delivered) == 12


async def test_retry_after_is_honoured_then_sent(stack: Stack) -> None:
    await _enqueue(stack, 1)
    adapter = FlakyAdapter(script=[RetryLater("rate limited", retry_after=30)])
    worker = DeliveryWorker(stack.sessions, {"local": adapter}, stack.clock)
    await worker.drain()
    async with stack.sessions() as session:
        (row,) = await outbox.messages(session)
    assert row.status == OutboxStatus.pending and row.attempts == 1
    assert row.next_attempt_at == stack.clock.now() + timedelta(seconds=30)
    stack.clock.advance(timedelta(seconds=29))
    await worker.drain()
    assert adapter.delivered == []
    stack.clock.advance(timedelta(seconds=1))
    await worker.drain()
    assert adapter.delivered == ["m00"]


async def test_errors_back_off_exponentially_and_give_up_after_max_attempts(stack: Stack) -> None:
    await _enqueue(stack, 1)
    adapter = FlakyAdapter(script=[ConnectionError("reset")] * 10)
    worker = DeliveryWorker(stack.sessions, {"local": adapter}, stack.clock, base_backoff=2, max_attempts=4)
    delays = []
    for _ in range(4):
        before = stack.clock.now()
        await worker.drain()
        async with stack.sessions() as session:
            (row,) = await outbox.messages(session)
        if row.status == OutboxStatus.failed:
            break
        delays.append((row.next_attempt_at - before).total_seconds())
        stack.clock.set(row.next_attempt_at)
    assert delays == [2, 4, 8]
    assert row.status == OutboxStatus.failed and row.attempts == 4 and "reset" in (row.last_error or "")


async def test_a_permanent_failure_is_recorded_not_retried(stack: Stack) -> None:
    await _enqueue(stack, 2)
    adapter = FlakyAdapter(script=[PermanentFailure("channel_not_found")])
    worker = DeliveryWorker(stack.sessions, {"local": adapter}, stack.clock)
    await worker.drain()
    stack.clock.advance(timedelta(hours=1))
    await worker.drain()
    async with stack.sessions() as session:
        rows = await outbox.messages(session)
    assert [(r.status, r.last_error) for r in rows] == [
        (OutboxStatus.failed, "channel_not_found"),
        (OutboxStatus.sent, None),
    ]
    assert adapter.attempts == 2


@pytest.mark.both_databases
async def test_sensitive_payloads_are_scrubbed_once_sent(stack: Stack) -> None:
    await _enqueue(stack, 1, sensitive=True)
    await stack.worker.drain()
    async with stack.sessions() as session:
        (row,) = await outbox.messages(session)
    assert row.status == OutboxStatus.sent and row.payload is None


async def test_messages_for_a_platform_that_is_off_wait_in_the_outbox(stack: Stack) -> None:
    await _enqueue(stack, 1)
    worker = DeliveryWorker(stack.sessions, {}, stack.clock)
    assert await worker.drain() == 0
    async with stack.sessions() as session:
        assert (await outbox.counts_by_status(session)) == {"pending": 1}


@pytest.mark.both_databases
async def test_concurrent_workers_never_send_the_same_row(
    stack: Stack, sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    await _enqueue(stack, 60)

    class Slow(FlakyAdapter):
        async def send(self, target: dict[str, Any], card: Card) -> str | None:
            await asyncio.sleep(0)
            return await super().send(target, card)

    adapters = [Slow() for _ in range(3)]
    workers = [
        DeliveryWorker(sessions, {"local": a}, clock, batch=5, name=f"w{i}") for i, a in enumerate(adapters)
    ]
    await asyncio.gather(*(w.drain() for w in workers))
    delivered = [m for a in adapters for m in a.delivered]
    assert sorted(delivered) == [f"m{i:02d}" for i in range(60)]


@pytest.mark.both_databases
async def test_a_sensitive_payload_is_erased_when_its_delivery_gives_up_too(stack: Stack) -> None:
    await _enqueue(stack, 1, sensitive=True)
    adapter = FlakyAdapter(script=[PermanentFailure("user_not_found")])
    await DeliveryWorker(stack.sessions, {"local": adapter}, stack.clock).drain()
    async with stack.sessions() as session:
        (row,) = await outbox.messages(session)
    assert row.status == OutboxStatus.failed and row.payload is None


@pytest.mark.both_databases
async def test_housekeeping_prunes_old_rows_and_event_keys_and_forget_drops_a_key_family(
    stack: Stack,
) -> None:
    from bot import housekeeping
    from flows.core.types import ActionEvent, Actor, Conversation
    from storage.models import ProcessedEvent

    team = await stack.import_team(team_spec())
    async with stack.sessions() as session, session.begin():
        for key in ("pulse:1:receipt:a", "pulse:1:receipt:b", "pulse:2:receipt:c", None):
            await enqueue(
                session,
                Delivery(Recipient.team_channels(team.id), Card.plain(str(key)), team_id=team.id, key=key),
                stack.clock.now(),
            )
    event = ActionEvent(
        Actor("local", "cy"), Conversation("local", "dm-cy", True), "x.y", idempotency_key="k1"
    )
    await stack.engine.handle(event)
    await stack.worker.drain()
    async with stack.sessions() as session, session.begin():
        assert await outbox.forget(session, "pulse:1:") == 2
    async with stack.sessions() as session:
        assert sorted(str(r.message_key) for r in await outbox.messages(session)) == [
            "None",
            "None",
            "pulse:2:receipt:c",
        ]
    # Six days later nothing is old enough; eight days later everything delivered is gone.
    stack.clock.advance(timedelta(days=6))
    assert await housekeeping.run(stack.sessions, stack.clock) == (0, 0)
    stack.clock.advance(timedelta(days=2))
    assert await housekeeping.run(stack.sessions, stack.clock) == (3, 1)
    async with stack.sessions() as session:
        assert await outbox.messages(session) == []
        assert await session.get(ProcessedEvent, "k1") is None


@pytest.mark.both_databases
async def test_a_running_worker_sends_a_row_committed_here_without_waiting_for_its_poll(
    stack: Stack,
) -> None:
    """The engine wakes the worker when it commits rows: they go out at once, not at the next poll (an
    hour away here), and the worker goes back to sleep when the outbox is empty."""
    adapter = FlakyAdapter()
    worker = DeliveryWorker(stack.sessions, {"local": adapter}, stack.clock, poll_seconds=3600)
    running = asyncio.create_task(worker.run_forever())
    try:
        for round_ in range(2):
            await _enqueue(stack, 3)
            worker.wake()
            async with asyncio.timeout(10):
                while len(adapter.delivered) < 3 * (round_ + 1):
                    await asyncio.sleep(0.01)
        assert Counter(adapter.delivered) == {"m00": 2, "m01": 2, "m02": 2}
        assert worker._idle == 3600  # nothing queued: it rests until woken (or the poll)
    finally:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running


@pytest.mark.both_databases
async def test_a_commands_reply_goes_out_at_once_from_a_running_worker(stack: Stack) -> None:
    """The engine wakes the worker of its process when an event's transaction commits replies: the reply
    goes out through one claim, not at the next poll (an hour away here)."""
    await stack.import_team(team_spec())
    stack.worker.poll_seconds = 3600
    running = asyncio.create_task(stack.worker.run_forever())
    try:
        async with asyncio.timeout(10):
            await stack.local.command("cy", "help")
            while [r.status for r in await _rows(stack)] != [OutboxStatus.sent]:
                await asyncio.sleep(0.01)
    finally:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
    assert [e.text.splitlines()[0] for e in stack.local.transcript] == ["WHAT TANDEM CAN DO"]


@pytest.mark.both_databases
async def test_a_replacement_written_with_its_original_rides_on_it(stack: Stack) -> None:
    """A message and its replacement written in one transaction: one row, with the replacement's content."""
    team = await stack.import_team(team_spec())
    here = Recipient.team_channels(team.id)
    async with stack.sessions() as session, session.begin():
        first = Delivery(here, Card.plain("draft"), team_id=team.id, key="k")
        second = Delivery(here, Card.plain("final"), team_id=team.id, key="k", replaces="k")
        assert await enqueue(session, first, stack.clock.now()) == 1
        assert await enqueue(session, second, stack.clock.now()) == 0
    await stack.worker.drain()
    assert [e.text for e in stack.local.transcript] == ["final"]


@pytest.mark.both_databases
async def test_two_pending_replacements_never_wait_for_each_other(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A home view refreshed twice before its first version went out: the earlier refresh goes out (as a new
    message), the later waits for it and then replaces it. Before, each waited for the other until both gave
    up after eight attempts."""
    from storage.models import OutboxMessage

    now = datetime(2026, 10, 20, 16, 0, tzinfo=UTC)
    async with sessions() as session, session.begin():
        rows = [
            OutboxMessage(
                platform="slack",
                target={"user": "W1", "home": True},
                payload={},
                next_attempt_at=now,
                created_at=now,
                message_key="home:W1",
                replaces_key="home:W1",
            )
            for _ in range(2)
        ]
        session.add_all(rows)
        await session.flush()
        earlier, later = rows
        assert await outbox.sent_ref(session, "home:W1", "slack", None, earlier.id) == (None, False)
        assert await outbox.sent_ref(session, "home:W1", "slack", None, later.id) == (None, True)
        earlier.status, earlier.platform_ref = "sent", "home-1"
        await session.flush()
        assert await outbox.sent_ref(session, "home:W1", "slack", None, later.id) == ("home-1", False)

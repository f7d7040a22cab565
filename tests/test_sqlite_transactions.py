"""SQLite transactions (storage/db.py): a session without `begin()` reads a snapshot that neither waits for
the writer nor makes it wait; concurrent writers in one process queue on the write gate in arrival order,
and none fails with "database is locked"; an idle delivery worker looks for work with a read and takes no
write lock."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from adapters.local import LocalAdapter
from bot.delivery import DeliveryWorker
from flows import default_flows
from flows.core.clock import ManualClock
from flows.core.engine import Engine
from flows.setup.team_file import import_team, parse_team_file
from storage import outbox
from storage.db import checkpoint, create_engine, session_factory
from storage.models import OutboxStatus
from tests.conftest import team_spec

NOW = datetime(2026, 10, 20, 16, 0, tzinfo=UTC)


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[tuple[AsyncEngine, async_sessionmaker[AsyncSession]]]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'gate.db'}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (n INTEGER)"))
    yield engine, session_factory(engine)
    await engine.dispose()


def _statements(engine: AsyncEngine) -> list[str]:
    seen: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement.split()[0] + (" IMMEDIATE" if "IMMEDIATE" in statement else ""))

    return seen


async def test_a_reading_session_neither_waits_for_nor_blocks_the_writer(
    sqlite: tuple[AsyncEngine, async_sessionmaker[AsyncSession]],
) -> None:
    engine, sessions = sqlite
    statements = _statements(engine)
    writing, finish = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with sessions() as session, session.begin():
            await session.execute(text("INSERT INTO t VALUES (1)"))
            writing.set()
            await finish.wait()  # holds SQLite's write lock

    task = asyncio.create_task(writer())
    await asyncio.wait_for(writing.wait(), 5)
    async with sessions() as session:  # would wait for the writer under BEGIN IMMEDIATE
        count = await asyncio.wait_for(session.scalar(text("SELECT count(*) FROM t")), 5)
    assert count == 0  # the snapshot from before the uncommitted insert
    finish.set()
    await task
    async with sessions() as session:
        assert await session.scalar(text("SELECT count(*) FROM t")) == 1
    assert statements.count("BEGIN IMMEDIATE") == 1 and statements.count("BEGIN") == 2


async def test_writers_in_one_process_take_turns_in_arrival_order(
    sqlite: tuple[AsyncEngine, async_sessionmaker[AsyncSession]],
) -> None:
    """With one writer holding the write lock while the others start, every one of them commits, in the
    order they began."""
    _, sessions = sqlite
    order: list[int] = []
    first_in, release = asyncio.Event(), asyncio.Event()

    async def write(n: int) -> None:
        async with sessions() as session, session.begin():
            await session.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
            order.append(n)
            if n == 0:
                first_in.set()
                await release.wait()

    tasks = [asyncio.create_task(write(0))]
    await asyncio.wait_for(first_in.wait(), 5)
    for n in range(1, 12):  # each queues behind the first, in this order
        tasks.append(asyncio.create_task(write(n)))
        await asyncio.sleep(0.01)
    release.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 30)
    assert order == list(range(12))


async def test_a_writer_cancelled_mid_transaction_lets_the_next_one_in(
    sqlite: tuple[AsyncEngine, async_sessionmaker[AsyncSession]],
) -> None:
    _, sessions = sqlite
    inside = asyncio.Event()

    async def stuck() -> None:
        async with sessions() as session, session.begin():
            await session.execute(text("INSERT INTO t VALUES (1)"))
            inside.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(stuck())
    await asyncio.wait_for(inside.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with sessions() as session, session.begin():  # would wait 30 s if the gate were still held
        await asyncio.wait_for(session.execute(text("INSERT INTO t VALUES (2)")), 5)
    async with sessions() as session:
        assert await session.scalar(text("SELECT n FROM t")) == 2


async def test_concurrent_events_and_deliveries_all_commit(sqlite_template: Path, tmp_path: Path) -> None:
    """Forty commands at once through the real engine, while two delivery workers send their replies and
    the ticker ticks: every event is recorded, every reply sent once, and no transaction fails."""
    path = tmp_path / "tandem.db"
    shutil.copy(sqlite_template, path)
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    sessions = session_factory(engine)
    clock = ManualClock(NOW)
    local = LocalAdapter()
    workers = [DeliveryWorker(sessions, {"local": local}, clock, name=f"w{i}") for i in range(2)]
    flows = Engine(sessions, clock, default_flows(), courier=workers[0])
    local.handle = flows.handle
    try:
        async with sessions() as session, session.begin():
            await import_team(session, parse_team_file(team_spec()), clock.now())
        users = ["ana", "ben", "cy", "di", "ed", "fay"]
        running = [asyncio.create_task(w.run_forever()) for w in workers]
        try:
            await asyncio.wait_for(
                asyncio.gather(
                    *(local.command(users[i % len(users)], "help") for i in range(40)),
                    *(flows.tick() for _ in range(5)),
                ),
                60,
            )
            async with asyncio.timeout(30):  # sent, and recorded as sent (the send comes first)
                while True:
                    async with sessions() as session:
                        done = [r for r in await outbox.messages(session) if r.status == OutboxStatus.sent]
                    if len(done) >= 40:
                        break
                    await asyncio.sleep(0.01)
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
        async with sessions() as session:
            rows = await outbox.messages(session)
        assert len(rows) == 40 and {r.status for r in rows} == {OutboxStatus.sent}
        assert len(local.transcript) == 40
    finally:
        await engine.dispose()


async def test_a_failed_write_releases_the_gate(
    sqlite: tuple[AsyncEngine, async_sessionmaker[AsyncSession]],
) -> None:
    _, sessions = sqlite
    with pytest.raises(Exception, match="no such table"):
        async with sessions() as session, session.begin():
            await session.execute(text("INSERT INTO missing VALUES (1)"))
    async with sessions() as session, session.begin():  # would wait 30 s if the gate were still held
        await asyncio.wait_for(session.execute(text("INSERT INTO t VALUES (2)")), 5)


async def test_an_idle_worker_takes_no_write_lock(sqlite_template: Path, tmp_path: Path) -> None:
    path = tmp_path / "tandem.db"
    shutil.copy(sqlite_template, path)  # a migrated database
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    statements = _statements(engine)
    worker = DeliveryWorker(session_factory(engine), {"local": LocalAdapter()}, ManualClock(NOW))
    try:
        for _ in range(3):
            assert await worker.run_once() == 0
    finally:
        await engine.dispose()
    assert "BEGIN IMMEDIATE" not in statements and statements.count("BEGIN") == 3


async def test_the_checkpoint_copies_the_wal_without_waiting_for_the_writer(
    sqlite: tuple[AsyncEngine, async_sessionmaker[AsyncSession]],
) -> None:
    """`tandem serve` moves the WAL into the database file every second, off the commits' path: the
    checkpoint copies what is committed while a writer holds its transaction open, and never waits for
    it (the writer's transaction carries on and commits)."""
    engine, sessions = sqlite
    async with engine.connect() as connection:
        assert (await connection.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar() == 10_000
    for n in range(50):
        async with sessions() as session, session.begin():
            await session.execute(text("INSERT INTO t (n) VALUES (:n)"), {"n": n})
    async with sessions() as writer, writer.begin():
        await writer.execute(text("INSERT INTO t (n) VALUES (-1)"))  # holds the write lock
        frames, copied = await asyncio.wait_for(checkpoint(engine), timeout=5)
        assert frames > 0 and copied == frames  # every committed frame is in the database file now
    async with sessions() as session:
        assert (await session.execute(text("SELECT count(*) FROM t"))).scalar_one() == 51

"""Each process has an identity (host, pid, start time) written on what it claims; a live worker renews its
short lease while it sends; a restarted process takes back at once what a dead predecessor on this host
held; /healthz shows this process and who holds what."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select, update

from adapters.local import LocalAdapter
from bot import process_identity
from bot.app import build_app
from bot.delivery import DeliveryWorker
from bot.runtime import Runtime
from bot.settings import Settings
from flows.core.outbox import enqueue
from flows.core.types import Card, Delivery, Recipient
from storage.models import OutboxMessage
from tests.conftest import Stack

pytestmark = pytest.mark.both_databases  # leases and claims are storage behaviour: PostgreSQL too


def _exited_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(done.stdout)


def test_an_identity_names_host_pid_and_start_and_reads_back() -> None:
    me = process_identity.current()
    assert me.label.startswith(f"{me.host[:60]}/{me.pid}/") and len(me.label) <= 100
    assert process_identity.ProcessIdentity.parse(me.label) == me
    assert process_identity.ProcessIdentity.parse("tandem") is None


def test_only_a_gone_process_on_this_host_is_dead() -> None:
    me = process_identity.current()
    assert not process_identity.is_dead(me.label, me)
    gone = dataclasses.replace(me, pid=_exited_pid())
    assert process_identity.is_dead(gone.label, me)
    predecessor = dataclasses.replace(me, started_at=me.started_at - timedelta(minutes=5))  # pid 1 again
    assert process_identity.is_dead(predecessor.label, me)
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as alive:
        try:
            stamp = process_identity._process_start(alive.pid)
            assert stamp is not None
            running = process_identity.ProcessIdentity(
                me.host, alive.pid, datetime.fromtimestamp(int(stamp), UTC)
            )
            assert not process_identity.is_dead(running.label, me)
            reused = dataclasses.replace(running, started_at=running.started_at - timedelta(hours=1))
            assert process_identity.is_dead(reused.label, me)  # same pid, another process
        finally:
            alive.kill()
    elsewhere = dataclasses.replace(gone, host="another-host")
    assert not process_identity.is_dead(elsewhere.label, me)  # never judged from here: its lease runs out
    assert not process_identity.is_dead("tandem", me)


class _Held(LocalAdapter):
    """Sends wait until released: a batch in flight for as long as the test wants."""

    def __init__(self) -> None:
        super().__init__()
        self.go = asyncio.Event()
        self.started = asyncio.Event()

    async def send(self, target: dict[str, Any], card: Card) -> str | None:
        self.started.set()
        await self.go.wait()
        return await super().send(target, card)


async def _queue(stack: Stack, n: int) -> None:
    async with stack.sessions() as session, session.begin():
        for i in range(n):
            recipient = Recipient(kind="conversation", platform="local", address=f"c{i}")
            await enqueue(session, Delivery(recipient, Card.plain(f"m{i}")), stack.clock.now())


async def test_a_live_worker_renews_its_lease_and_keeps_its_rows(stack: Stack) -> None:
    await _queue(stack, 3)
    held = _Held()
    busy = DeliveryWorker(
        stack.sessions, {"local": held}, stack.clock, name="a/1/20261020T000000", lease=timedelta(seconds=0.3)
    )
    other = DeliveryWorker(stack.sessions, {"local": LocalAdapter()}, stack.clock, name="b/2/20261020T000000")
    sending = asyncio.create_task(busy.run_once())
    await asyncio.wait_for(held.started.wait(), 10)
    stack.clock.advance(timedelta(seconds=5))  # far past the first lease's end
    renewed = busy.renewals  # a renewal from now on extends the lease past the new "now"
    for _ in range(200):  # the renewal (every 0.1 s) moves the lease past the new "now"
        if busy.renewals > renewed + 1:
            break
        await asyncio.sleep(0.02)
    assert busy.renewals > renewed + 1  # (the first may have read the clock before it moved)
    assert await other.run_once() == 0  # the rows are still held by the live worker
    held.go.set()
    assert await asyncio.wait_for(sending, 10) == 3
    assert len(held.transcript) == 3


async def test_a_restart_takes_back_a_dead_predecessors_rows_at_once(database_url: str) -> None:
    runtime = Runtime(Settings(TANDEM_DATABASE_URL=database_url), adapters={"local": LocalAdapter()})
    me = runtime.identity
    dead = dataclasses.replace(me, pid=_exited_pid()).label
    far = dataclasses.replace(me, host="replica-2").label
    try:
        async with runtime.sessions() as session, session.begin():
            for i in range(4):
                recipient = Recipient(kind="conversation", platform="local", address=f"c{i}")
                await enqueue(session, Delivery(recipient, Card.plain(f"m{i}")), runtime.clock.now())
            lease = runtime.clock.now() + timedelta(hours=1)
            await session.execute(
                update(OutboxMessage).values(status="sending", lease_until=lease, claimed_by=dead)
            )
            await session.execute(update(OutboxMessage).where(OutboxMessage.id == 4).values(claimed_by=far))
        assert await runtime.release_dead_holders() == 3
        async with runtime.sessions() as session:
            rows = {
                r.id: (r.status, r.claimed_by)
                for r in (await session.execute(select(OutboxMessage))).scalars()
            }
        assert [rows[i][0] for i in (1, 2, 3)] == ["pending"] * 3
        assert rows[4] == ("sending", far)  # another host's: its lease will run out
        client = TestClient(TestServer(build_app(runtime), host="127.0.0.1"))
        await client.start_server()
        try:
            health = await (await client.get("/healthz")).json()
        finally:
            await client.close()
        assert health["process"]["id"] == me.label and health["process"]["pid"] == me.pid
        assert health["holds"]["outbox_leases"] == [
            {"process": far, "rows": 1, "lease_until": health["holds"]["outbox_leases"][0]["lease_until"]}
        ]
        assert health["holds"]["released_at_start"] == 3
    finally:
        await runtime.db.dispose()

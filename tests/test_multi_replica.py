"""Three engines on one PostgreSQL database tick fast; every occurrence runs exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from flows import default_flows
from flows.core.clock import ManualClock
from flows.core.engine import Engine
from flows.setup.team_file import import_team, parse_team_file
from storage import schedules
from storage.db import create_engine, session_factory
from storage.models import OccurrenceClaim, OutboxMessage
from tests.conftest import team_spec

# a storage behaviour: on PostgreSQL as well; slow: scheduled first (tests/conftest.py)
pytestmark = [pytest.mark.both_databases, pytest.mark.slow]


async def test_three_replicas_run_every_occurrence_exactly_once(postgres_url: str) -> None:
    from tests.conftest import _empty_all

    await _empty_all(postgres_url, truncate=False)
    start = datetime(2026, 10, 20, 12, 0, tzinfo=UTC)
    clock = ManualClock(start)
    dbs = [create_engine(postgres_url, pool_size=3) for _ in range(3)]
    try:
        sessions = [session_factory(db) for db in dbs]
        async with sessions[0]() as session, session.begin():
            for n in range(5):  # five teams, each with a schedule firing every minute
                spec = team_spec(
                    name=f"Team {n}",
                    channels=[{"platform": "local", "id": f"channel-{n}"}],
                    meeting={
                        "rrule": "FREQ=MINUTELY",
                        "start": "2026-10-20T05:00:00",
                        "reminder_minutes_before": 0,
                    },
                )
                for member in spec["members"]:
                    member["local"] = f"{member['local']}-{n}"
                await import_team(session, parse_team_file(spec), clock.now())
        replicas = [
            Engine(s, clock, default_flows(), name=f"replica-{i}", batch=2) for i, s in enumerate(sessions)
        ]
        minutes = 6  # 30 occurrences, raced for by three replicas at every step
        stop = asyncio.Event()
        ticks = Counter[str]()

        async def run(replica: Engine) -> None:
            while not stop.is_set():
                await replica.tick()
                ticks[replica.name] += 1
                await asyncio.sleep(0)

        async def advance() -> None:
            # Time moves on once every replica has ticked since the last step, so nothing is "missed"
            # (missed occurrences would be coalesced by design); the replicas still race for each one.
            for _ in range(minutes * 4):
                seen = dict(ticks)
                while any(ticks[r.name] <= seen.get(r.name, 0) for r in replicas):
                    await asyncio.sleep(0.001)
                clock.advance(timedelta(seconds=15))
            stop.set()

        await asyncio.gather(advance(), *(run(r) for r in replicas))
        for replica in replicas:
            await replica.tick()  # settle: anything still due runs now

        async with sessions[0]() as session:
            rows = list((await session.execute(select(OutboxMessage.target, OutboxMessage.payload))).all())
            claims = list((await session.execute(select(OccurrenceClaim))).scalars())
            all_schedules = [s for n in range(5) for s in await schedules.for_team(session, n + 1, "meeting")]
        assert len(all_schedules) == 5
        assert all(t >= 3 for t in ticks.values()) and len(ticks) == 3, ticks
        # Every minute after the import (12:00 UTC, 05:00 PDT) up to 12:40 UTC, plus those prepared ahead
        # (their messages wait for their fire time): one message per occurrence per team.
        expected = minutes + int(replicas[0].prepare_ahead / timedelta(minutes=1))
        per_channel = Counter(target["address"] for target, _ in rows)
        assert per_channel == {f"channel-{n}": expected for n in range(5)}
        headers = Counter((t["address"], p["elements"][0]["text"]) for t, p in rows)
        assert max(headers.values()) == 1, "an occurrence was delivered twice"
        assert all(c.status == "ran" for c in claims) and len(claims) == 5 * expected
        assert len({c.claimed_by for c in claims}) >= 2, "the replicas should share the work"
    finally:
        for db in dbs:
            await db.dispose()

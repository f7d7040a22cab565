"""Scheduler benchmark: 10,000 teams' schedules; start-up time, peak RSS and fire lateness for a burst.

    .venv/bin/python bench/scheduler.py                 # both backends, each in its own process
    .venv/bin/python bench/scheduler.py --backend sqlite
    TANDEM_BENCH_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1/postgres \
        .venv/bin/python bench/scheduler.py

What it does, per backend, in a fresh process:
1. creates a database and loads 10,000 teams (2 co-chairs, 4 members, 1 channel each) and one weekly
   meeting schedule per team (bulk inserts; not timed);
2. start-up: a Runtime is built exactly as `tandem serve` builds it (engine, migrations check, the APScheduler
   ticker started, the delivery worker started), timed until the first tick has completed;
3. burst: 1,000 of the schedules are made due at the same instant T (2 s ahead, real clock); the real ticker
   (every 0.25 s) fires them and the real delivery worker sends them to a recording adapter. Lateness of one
   occurrence = the moment its message reached the adapter − T (end to end: claim, flow, outbox, delivery);
4. prints start-up seconds, peak RSS (MB) and lateness p50/p99 (ms).
Goals (issue 2): start ≤ 5 s, RSS ≤ 200 MB, lateness p99 ≤ 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, text, update

from bot.runtime import Runtime
from bot.settings import Settings
from flows.core.recurrence import Recurrence, from_key, to_key
from flows.core.types import Card
from storage.db import create_engine
from storage.migrate import upgrade
from storage.models import Identity, Membership, OutboxMessage, Person, Schedule, Team, TeamChannel

TEAMS = 10_000
BURST = 1_000
MEMBERS = 6
PREPARE_SECONDS = 30  # production default is 120 s (TANDEM_PREPARE_SECONDS)
PG_ADMIN = os.environ.get(
    "TANDEM_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)


class RecordingAdapter:
    platform = "local"

    def __init__(self) -> None:
        self.sent_at: list[float] = []

    async def send(self, target: dict[str, Any], card: Card) -> str | None:
        self.sent_at.append(time.time())
        return None

    async def update(self, target: dict[str, Any], ref: str, card: Card) -> str | None:
        return ref


async def _load(url: str, now: datetime) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    rule = Recurrence("FREQ=WEEKLY;BYDAY=TU", from_key("2026-01-06T16:00:00"), "America/Los_Angeles")
    future = rule.first_firing_after(now + timedelta(days=2))
    assert future is not None
    async with engine.begin() as conn:
        for start in range(0, TEAMS, 1000):
            ids = range(start + 1, min(start + 1000, TEAMS) + 1)
            await conn.execute(
                insert(Team),
                [
                    {
                        "id": i,
                        "name": f"Team {i}",
                        "timezone": "America/Los_Angeles",
                        "language": "en",
                        "settings": {"norms_pack": "seven-norms"},
                        "created_at": now,
                    }
                    for i in ids
                ],
            )
            people = [(i, m, (i - 1) * MEMBERS + m + 1) for i in ids for m in range(MEMBERS)]
            await conn.execute(
                insert(Person),
                [{"id": p, "display_name": f"Person {p}", "created_at": now} for _, _, p in people],
            )
            await conn.execute(
                insert(Identity),
                [
                    {"person_id": p, "platform": "local", "workspace": "", "user_id": f"u{p}"}
                    for _, _, p in people
                ],
            )
            await conn.execute(
                insert(Membership),
                [
                    {
                        "team_id": i,
                        "person_id": p,
                        "side": "labor" if m % 2 == 0 else "management",
                        "co_chair": m < 2,
                        "position": m,
                        "joined_at": now,
                    }
                    for i, m, p in people
                ],
            )
            await conn.execute(
                insert(TeamChannel),
                [
                    {"team_id": i, "platform": "local", "workspace": "", "address": f"c{i}", "name": None}
                    for i in ids
                ],
            )
            await conn.execute(
                insert(Schedule),
                [
                    {
                        "team_id": i,
                        "kind": "meeting",
                        "rrule": "FREQ=WEEKLY;BYDAY=TU",
                        "dtstart_local": "2026-01-06T16:00:00",
                        "timezone": "America/Los_Angeles",
                        "settings": {"lead_minutes": 0, "misfire_grace_minutes": 60},
                        "enabled": True,
                        "next_occurrence_local": to_key(future),
                        "next_fire_at": rule.fire_at(future),
                        "updated_at": now,
                    }
                    for i in ids
                ],
            )
        if conn.dialect.name == "postgresql":
            for table in ("teams", "people", "identities", "memberships", "team_channels", "schedules"):
                await conn.execute(text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))
            await conn.execute(text("ANALYZE"))
    await engine.dispose()


async def _measure(url: str) -> dict[str, float]:
    now = datetime.now(UTC)
    await _load(url, now)

    started = time.perf_counter()
    adapter = RecordingAdapter()
    runtime = Runtime(
        Settings(
            TANDEM_DATABASE_URL=url,
            TANDEM_TICK_SECONDS=0.25,
            TANDEM_PREPARE_SECONDS=PREPARE_SECONDS,
            TANDEM_SECRET_KEY="tandem-bench-sealing-key",  # required with PostgreSQL (bot/sealing_key.py)
        ),
        adapters={"local": adapter},
    )
    await runtime.start()
    while runtime.ticker.ticks < 1:
        await asyncio.sleep(0.005)
    startup = time.perf_counter() - started

    # The burst: 1,000 meetings (one per team, local wall time = now + 2 s) become due at T.
    due_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=PREPARE_SECONDS + 5)
    local = due_at.astimezone(
        Recurrence("FREQ=DAILY", from_key("2026-01-01T00:00:00"), "America/Los_Angeles").tz
    )
    async with runtime.sessions() as session, session.begin():
        await session.execute(
            update(Schedule)
            .where(Schedule.team_id <= BURST)
            .values(
                rrule="FREQ=DAILY",
                dtstart_local=to_key(local.replace(tzinfo=None)),
                next_occurrence_local=to_key(local.replace(tzinfo=None)),
                next_fire_at=due_at,
            )
        )
    # Preparation starts PREPARE_SECONDS before T: time how long the 1,000 flows take to run.
    prepare_from = due_at - timedelta(seconds=PREPARE_SECONDS)
    while datetime.now(UTC) < prepare_from:
        await asyncio.sleep(0.01)
    prepared = None
    deadline = time.time() + PREPARE_SECONDS + 60
    while len(adapter.sent_at) < BURST and time.time() < deadline:
        if prepared is None:
            async with runtime.sessions() as session:
                count = (await session.execute(select(func.count()).select_from(OutboxMessage))).scalar_one()
            if count >= BURST:
                prepared = (datetime.now(UTC) - prepare_from).total_seconds()
        await asyncio.sleep(0.05)
    await runtime.stop()
    lateness = sorted((t - due_at.timestamp()) * 1000 for t in adapter.sent_at)
    if len(lateness) < BURST:
        raise SystemExit(f"only {len(lateness)} of {BURST} occurrences were delivered within 60 s")
    return {
        "startup_s": round(startup, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "lateness_p50_ms": round(lateness[len(lateness) // 2], 1),
        "lateness_p99_ms": round(lateness[int(len(lateness) * 0.99) - 1], 1),
        "lateness_max_ms": round(lateness[-1], 1),
        "prepare_s": round(prepared or -1, 1),
    }


async def _admin(sql: str) -> None:
    engine = create_engine(PG_ADMIN)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(sql))
    await engine.dispose()


def child(backend: str) -> dict[str, float]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            return asyncio.run(_measure(f"sqlite+aiosqlite:///{tmp}/bench.db"))
    from sqlalchemy.engine import make_url

    name = f"tandem_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        return asyncio.run(
            _measure(make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False))
        )
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.backend)))
        return
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(f"{TEAMS:,} teams, {TEAMS:,} schedules; burst of {BURST:,} due at one instant; tick every 0.25 s")
    print(f"prepare window {PREPARE_SECONDS} s (TANDEM_PREPARE_SECONDS); lateness = delivered − fire time")
    print(
        f"{'backend':<11} {'start-up s':>10} {'peak RSS MB':>12} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
        f" {'prepare 1,000 s':>16}"
    )
    for backend in backends:
        # A fresh process per backend, so start-up and peak RSS are that backend's alone.
        out = subprocess.run(
            [sys.executable, __file__, "--child", "--backend", backend],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            reason = out.stderr.strip().splitlines()[-1] if out.stderr else out.returncode
            print(f"{backend:<11} failed: {reason}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{backend:<11} {r['startup_s']:>10} {r['peak_rss_mb']:>12} {r['lateness_p50_ms']:>8} "
            f"{r['lateness_p99_ms']:>8} {r['lateness_max_ms']:>8} {r['prepare_s']:>16}"
        )
    print("goals: start-up ≤ 5 s, peak RSS ≤ 200 MB, p99 lateness ≤ 1000 ms")


if __name__ == "__main__":
    main()

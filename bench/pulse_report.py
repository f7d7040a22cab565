"""Pulse report benchmark: 100,000+ answers across 200 teams; time one team's report and its export.

    .venv/bin/python bench/pulse_report.py            # SQLite (a temp file) and PostgreSQL (local server)
    TANDEM_BENCH_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/postgres .venv/bin/python ...

Aggregation happens in SQL (GROUP BY / AVG); the report never loads answer rows into Python.
Goal: <= 100 ms per report on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text

from bot.pulse_export import export_rows
from flows.content.instruments import instruments
from flows.core.engine import FlowContext
from flows.pulse.flow import PulseFlow
from storage import pulse
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import Team
from storage.pulse_models import PulseAnswer, PulseBallot, PulsePoll, new_id
from storage.sealing import Sealer

TEAMS, POLLS, BALLOTS = 200, 4, 11  # 200 × 4 × 11 × 12 items = 105,600 answers
NOW = datetime(2027, 1, 1, tzinfo=UTC)


async def seed(url: str) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    rtsa = instruments()["relational-trust"]
    rng = random.Random(5)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        for t in range(TEAMS):
            team = Team(
                name=f"Team {t}", timezone="America/Los_Angeles", language="en", settings={}, created_at=NOW
            )
            session.add(team)
            await session.flush()
            for p in range(POLLS):
                opened = NOW - timedelta(days=90 * (POLLS - p))
                poll = PulsePoll(
                    team_id=team.id,
                    instrument_id=rtsa.id,
                    instrument=rtsa.to_data(),
                    status="released",
                    min_responses=5,
                    invited=14,
                    remind_days=[3, 5],
                    reminders_sent=2,
                    sides_recorded=True,
                    opened_at=opened,
                    opened_local="2026-01-01T09:00:00",
                    closes_at=opened + timedelta(days=7),
                    closed_at=opened + timedelta(days=7),
                    respondents=BALLOTS,
                )
                session.add(poll)
                await session.flush()
                ballots, answers = [], []
                for b in range(BALLOTS):
                    ballot_id = new_id()
                    ballots.append(
                        {
                            "id": ballot_id,
                            "poll_id": poll.id,
                            "side_group": ("labor", "management")[b % 2] if b < 10 else None,
                        }
                    )
                    for item in rtsa.items:
                        answers.append(
                            {
                                "id": new_id(),
                                "ballot_id": ballot_id,
                                "poll_id": poll.id,
                                "component_id": rtsa.component_of(item.id),
                                "item_id": item.id,
                                "value": rng.randint(1, 5),
                            }
                        )
                await session.execute(insert(PulseBallot), ballots)
                await session.execute(insert(PulseAnswer), answers)
    if engine.dialect.name == "postgresql":
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("ANALYZE"))
    await engine.dispose()


async def measure(url: str, label: str) -> None:
    await seed(url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    flow = PulseFlow()
    report_ms, export_ms = [], []
    async with sessions() as session:
        count = (await session.execute(text("SELECT count(*) FROM pulse_answers"))).scalar_one()
        for t in random.Random(1).sample(range(1, TEAMS + 1), 20):
            poll_id = (
                await session.execute(text(f"SELECT max(id) FROM pulse_polls WHERE team_id = {t}"))
            ).scalar_one()
            poll = await pulse.poll_by_id(session, poll_id)
            assert poll is not None
            ctx = FlowContext(session, NOW, Sealer.ephemeral())
            start = time.perf_counter()
            report = await flow.report(ctx, poll)
            report_ms.append((time.perf_counter() - start) * 1000)
            assert report.respondents == BALLOTS and report.sides.shown is False  # 1 outside both sides
            start = time.perf_counter()
            rows = await export_rows(session, f"Team {t - 1}")
            export_ms.append((time.perf_counter() - start) * 1000)
            assert rows
    await engine.dispose()
    print(
        f"{label:10} answers={count:,}  report: median {statistics.median(report_ms):.1f} ms, "
        f"max {max(report_ms):.1f} ms  |  export (4 polls): median {statistics.median(export_ms):.1f} ms, "
        f"max {max(export_ms):.1f} ms"
    )


async def main() -> None:
    directory = Path(tempfile.mkdtemp(prefix="tandem-bench-"))
    await measure(f"sqlite+aiosqlite:///{directory / 'bench.db'}", "SQLite")
    admin = os.environ.get(
        "TANDEM_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    name = f"tandem_bench_{uuid.uuid4().hex[:8]}"
    engine = create_engine(admin)
    try:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # PostgreSQL is optional for a bench run
        print(f"PostgreSQL skipped ({exc.__class__.__name__}: {exc})")
        return
    finally:
        await engine.dispose()
    try:
        await measure(admin.rsplit("/", 1)[0] + f"/{name}", "PostgreSQL")
    finally:
        engine = create_engine(admin)
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())

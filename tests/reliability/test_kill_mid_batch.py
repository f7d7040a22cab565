"""kill -9 of `tandem serve` in the middle of preparing a batch of check-in runs (many teams due at once,
prepared in one transaction: flows/core/engine.py `_run_batch`). The test holds a lock on the schedules
table, so the batch stops at its last insert (the runs' reminder and close schedules), after its claims,
its runs and their invitations were written; the process is killed there. None of it was committed, so
none of it exists; started again, Tandem prepares every team's run once and invites every member once."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from flows.core.checkin_settings import LEAD, RUN_KIND
from flows.core.recurrence import utc_to_local, zone
from flows.setup.team_file import import_team, parse_team_file
from storage.checkin_models import CheckinRun
from storage.db import create_engine, session_factory
from storage.models import OccurrenceClaim, OutboxMessage, Schedule
from tests.conftest import _empty_all, team_spec
from tests.reliability.conftest import Figure
from tests.serve_process import eventually, tandem_serve

pytestmark = pytest.mark.slow  # processes, a browser or seconds of work: scheduled first (tests/conftest.py)
TEAMS = 12
TZ = "America/Los_Angeles"
BLOCKED = "INSERT INTO schedules"  # the batch's last insert: its runs' reminder and close


def _spec(n: int, due: datetime) -> dict[str, Any]:
    spec = team_spec(
        name=f"Batch Team {n}",
        timezone=TZ,
        meeting=None,
        channels=[{"platform": "local", "id": f"batch-{n}", "name": f"#batch-{n}"}],
        checkins={"every": "FREQ=DAILY", "start": due.date().isoformat(), "at": due.strftime("%H:%M")},
    )
    for member in spec["members"]:
        member["local"] = f"{member['local']}-{n}"
    return spec


async def test_a_kill_mid_batch_loses_and_duplicates_no_run(postgres_url: str, figure: Figure) -> None:
    await _empty_all(postgres_url, truncate=False)
    now = datetime.now(UTC)
    # Every team's run is due at the same local minute, tomorrow: prepared a day ahead, it is due now.
    due = (utc_to_local(now, zone(TZ)) + LEAD - timedelta(hours=1)).replace(second=0, microsecond=0)
    db = create_engine(postgres_url)
    sessions = session_factory(db)
    try:
        async with sessions() as session, session.begin():
            specs = [_spec(n, due) for n in range(TEAMS)]
            for spec in specs:  # imported an hour before the run was to be prepared
                await import_team(session, parse_team_file(spec), now - timedelta(hours=2))
        members = {m["local"] for spec in specs for m in spec["members"]}
        env = {"TANDEM_DATABASE_URL": postgres_url, "TANDEM_TICK_SECONDS": "1"}

        async def blocked_batch() -> Any:
            async with sessions() as session:
                found = await session.execute(
                    text(
                        "SELECT pid, query FROM pg_stat_activity "
                        "WHERE wait_event_type = 'Lock' AND query LIKE :blocked"
                    ),
                    {"blocked": f"{BLOCKED}%"},
                )
                return found.first()

        async with db.connect() as blocker:
            await blocker.begin()
            await blocker.execute(text("LOCK TABLE schedules IN SHARE MODE"))  # others' writes to it wait
            async with tandem_serve(env, wait_healthy=False) as first:
                waiting = await eventually(blocked_batch, "the batch to wait at its last insert", within=60)
                first.process.kill()
                await first.process.wait()
            await blocker.rollback()  # the dead process's transaction goes on, finds its client gone

        async def gone() -> bool:
            async with sessions() as session:
                found = await session.execute(
                    text("SELECT 1 FROM pg_stat_activity WHERE pid = :pid"), {"pid": waiting.pid}
                )
                return found.first() is None

        await eventually(gone, "the killed process's connection to end")
        before = await _written(sessions)
        assert before == ([], [], []), before  # nothing of the batch was committed

        async with tandem_serve(env) as second:
            process = str((await second.health())["process"]["id"])  # type: ignore[index]

            async def prepared() -> bool:
                claims, _, _ = await _written(sessions)
                return len(claims) >= TEAMS

            await eventually(prepared, "every run to be prepared again", within=60)
            claims, runs, invited = await _written(sessions)
    finally:
        await db.dispose()
    assert sorted(claims) == [("ran", process)] * TEAMS, claims  # each occurrence claimed once, by it
    assert len(runs) == TEAMS and set(Counter(runs).values()) == {1}, runs  # one run per team
    per_member = Counter(invited)
    assert set(per_member) == members and set(per_member.values()) == {1}, per_member
    figure("teams due at once (one batch)", TEAMS)
    figure("statement the batch waited at when killed", str(waiting.query).split("(")[0].strip())
    figure("claims, runs and invitations committed by the killed process", sum(map(len, before)))
    figure("runs prepared after the restart", len(runs))
    figure("members invited twice", sum(n - 1 for n in per_member.values()))


async def _written(sessions: Any) -> tuple[list[tuple[str, str]], list[int], list[str]]:
    """The check-in run claims (status, by), the runs' teams, and the people invited (one per invitation)."""
    async with sessions() as session:
        claims = (
            await session.execute(
                select(OccurrenceClaim.status, OccurrenceClaim.claimed_by)
                .join(Schedule, Schedule.id == OccurrenceClaim.schedule_id)
                .where(Schedule.kind == RUN_KIND)
            )
        ).all()
        runs = (await session.execute(select(CheckinRun.team_id))).scalars().all()
        rows = (await session.execute(select(OutboxMessage.target, OutboxMessage.payload))).all()
    invited = [str(t["user"]) for t, p in rows if "user" in t and '"checkin.answer"' in json.dumps(p)]
    return [(str(s), str(b)) for s, b in claims], [int(t) for t in runs], invited

"""Schedules and occurrence claims: the database side of exactly-once scheduling."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OccurrenceClaim, Schedule
from storage.sql import dialect_name, insert_ignore


async def lock_due(session: AsyncSession, now: datetime, limit: int) -> list[Schedule]:
    """Due schedules, locked for this transaction. On PostgreSQL other replicas skip the locked rows;
    SQLite serves one process, whose BEGIN IMMEDIATE already serialises writers."""
    stmt = (
        select(Schedule)
        .where(Schedule.enabled.is_(True), Schedule.next_fire_at.is_not(None), Schedule.next_fire_at <= now)
        .order_by(Schedule.next_fire_at, Schedule.id)
        .limit(limit)
    )
    if dialect_name(session) == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list((await session.execute(stmt)).scalars())


async def claim(
    session: AsyncSession, schedule_id: int, occurrence_local: str, status: str, by: str, now: datetime
) -> bool:
    """Claim one occurrence; False when another replica (or an earlier run) already has it."""
    return await insert_ignore(
        session,
        OccurrenceClaim,
        {
            "schedule_id": schedule_id,
            "occurrence_local": occurrence_local,
            "status": status,
            "claimed_by": by,
            "claimed_at": now,
        },
    )


async def for_team(session: AsyncSession, team_id: int, kind: str | None = None) -> list[Schedule]:
    stmt = select(Schedule).where(Schedule.team_id == team_id)
    if kind is not None:
        stmt = stmt.where(Schedule.kind == kind)
    return list((await session.execute(stmt.order_by(Schedule.id))).scalars())


async def upsert_for_team(
    session: AsyncSession,
    *,
    team_id: int,
    kind: str,
    rrule: str,
    dtstart_local: str,
    timezone: str,
    settings: dict[str, Any],
    next_occurrence_local: str | None,
    next_fire_at: datetime | None,
    now: datetime,
) -> Schedule:
    """One schedule of `kind` per team (meetings, for example); created or replaced in place."""
    existing = await for_team(session, team_id, kind)
    schedule = existing[0] if existing else Schedule(team_id=team_id, kind=kind)
    schedule.rrule = rrule
    schedule.dtstart_local = dtstart_local
    schedule.timezone = timezone
    schedule.settings = settings
    schedule.enabled = True
    schedule.next_occurrence_local = next_occurrence_local
    schedule.next_fire_at = next_fire_at
    schedule.updated_at = now
    if not existing:
        session.add(schedule)
    await session.flush()
    return schedule


async def claims(session: AsyncSession, schedule_id: int) -> list[OccurrenceClaim]:
    stmt = (
        select(OccurrenceClaim)
        .where(OccurrenceClaim.schedule_id == schedule_id)
        .order_by(OccurrenceClaim.occurrence_local)
    )
    return list((await session.execute(stmt)).scalars())


async def count_enabled(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).where(Schedule.enabled.is_(True)))).scalar_one())


async def recent_claimers(session: AsyncSession, since: datetime) -> list[tuple[str, int, datetime]]:
    """(process, occurrences claimed, latest claim) for the claims made since `since`: who ran the
    schedules lately."""
    stmt = (
        select(OccurrenceClaim.claimed_by, func.count(), func.max(OccurrenceClaim.claimed_at))
        .where(OccurrenceClaim.claimed_at >= since)
        .group_by(OccurrenceClaim.claimed_by)
        .order_by(OccurrenceClaim.claimed_by)
    )
    return [(str(who), int(n), latest) for who, n, latest in (await session.execute(stmt)).all()]

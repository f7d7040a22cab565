"""Schedules and occurrence claims: the database side of exactly-once scheduling."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OccurrenceClaim, Schedule
from storage.sql import dialect_name, insert_ignore


@dataclass(frozen=True)
class ScheduleView:
    """A schedule as flows see it: plain values, read-only. Changed through the functions below."""

    id: int
    team_id: int
    kind: str
    rrule: str
    dtstart_local: str
    timezone: str
    settings: Mapping[str, Any]
    enabled: bool
    next_occurrence_local: str | None
    next_fire_at: datetime | None


def schedule_view(row: Schedule) -> ScheduleView:
    return ScheduleView(
        row.id,
        row.team_id,
        row.kind,
        row.rrule,
        row.dtstart_local,
        row.timezone,
        MappingProxyType(dict(row.settings or {})),
        row.enabled,
        row.next_occurrence_local,
        row.next_fire_at,
    )


async def lock_due(session: AsyncSession, now: datetime, limit: int) -> list[ScheduleView]:
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
    return [schedule_view(row) for row in (await session.execute(stmt)).scalars()]


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


async def claim_many(
    session: AsyncSession, occurrences: Sequence[tuple[int, str]], status: str, by: str, now: datetime
) -> set[tuple[int, str]]:
    """Claim many (schedule id, occurrence_local) at once, in one statement: the ones this call won (each
    of the others another replica, or an earlier run, already has)."""
    if not occurrences:
        return set()
    rows = [
        {
            "schedule_id": schedule_id,
            "occurrence_local": occurrence,
            "status": status,
            "claimed_by": by,
            "claimed_at": now,
        }
        for schedule_id, occurrence in sorted(occurrences)  # one order for every replica's inserts
    ]
    insert_ = postgresql.insert if dialect_name(session) == "postgresql" else sqlite.insert
    stmt = (
        insert_(OccurrenceClaim)
        .on_conflict_do_nothing()
        .returning(OccurrenceClaim.schedule_id, OccurrenceClaim.occurrence_local)
    )
    result = await (await session.connection()).execute(stmt, rows)
    return {(int(schedule_id), str(occurrence)) for schedule_id, occurrence in result.all()}


_SCHEDULES: Table = Schedule.__table__  # type: ignore[assignment]  # Core: one executemany for a batch
_ADVANCE = (
    update(_SCHEDULES)
    .where(_SCHEDULES.c.id == bindparam("schedule_id"))
    .values(
        next_occurrence_local=bindparam("next_local"),
        next_fire_at=bindparam("fire_at"),
        updated_at=bindparam("now"),
    )
)


async def advance_many(
    session: AsyncSession, advances: Sequence[tuple[int, str | None, datetime | None]], now: datetime
) -> None:
    """`advance` for many schedules, as (schedule id, next local, next fire time), in one statement."""
    if advances:
        params = [{"schedule_id": i, "next_local": n, "fire_at": f, "now": now} for i, n, f in advances]
        await (await session.connection()).execute(_ADVANCE, params)


async def advance(
    session: AsyncSession,
    schedule_id: int,
    next_local: str | None,
    next_fire_at: datetime | None,
    now: datetime,
) -> None:
    """Move a schedule on to its next occurrence (None: it has no more)."""
    await session.execute(
        update(Schedule)
        .where(Schedule.id == schedule_id)
        .values(next_occurrence_local=next_local, next_fire_at=next_fire_at, updated_at=now)
    )


async def _rows_for_team(session: AsyncSession, team_id: int, kind: str | None) -> list[Schedule]:
    stmt = select(Schedule).where(Schedule.team_id == team_id)
    if kind is not None:
        stmt = stmt.where(Schedule.kind == kind)
    return list((await session.execute(stmt.order_by(Schedule.id))).scalars())


async def for_team(session: AsyncSession, team_id: int, kind: str | None = None) -> list[ScheduleView]:
    return [schedule_view(row) for row in await _rows_for_team(session, team_id, kind)]


async def disable(session: AsyncSession, schedule_ids: Iterable[int]) -> None:
    """Turn schedules off (kept, with their claims, for the record)."""
    ids = list(schedule_ids)
    if ids:
        await session.execute(update(Schedule).where(Schedule.id.in_(ids)).values(enabled=False))


async def set_settings(session: AsyncSession, schedule_id: int, settings: Mapping[str, Any]) -> None:
    """Replace a schedule's settings."""
    await session.execute(update(Schedule).where(Schedule.id == schedule_id).values(settings=dict(settings)))


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
) -> ScheduleView:
    """One schedule of `kind` per team (meetings, for example); created or replaced in place."""
    existing = await _rows_for_team(session, team_id, kind)
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
    return schedule_view(schedule)


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

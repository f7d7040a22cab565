"""Meeting role assignments (facilitator, note-taker, timekeeper) and their history."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import RoleAssignment


@dataclass(frozen=True)
class RoleView:
    """One person holding (or having passed) one role at one meeting."""

    id: int
    team_id: int
    occurrence_local: str
    role: str
    person_id: int
    passed: bool


def _view(row: RoleAssignment) -> RoleView:
    return RoleView(row.id, row.team_id, row.occurrence_local, row.role, row.person_id, row.passed)


async def history(session: AsyncSession, team_id: int) -> list[RoleView]:
    """Every assignment of the team, oldest first (passes included, flagged)."""
    stmt = (
        select(RoleAssignment)
        .where(RoleAssignment.team_id == team_id)
        .order_by(RoleAssignment.occurrence_local, RoleAssignment.id)
    )
    return [_view(row) for row in (await session.execute(stmt)).scalars()]


async def for_meeting(session: AsyncSession, team_id: int, occurrence_local: str) -> list[RoleView]:
    stmt = (
        select(RoleAssignment)
        .where(RoleAssignment.team_id == team_id, RoleAssignment.occurrence_local == occurrence_local)
        .order_by(RoleAssignment.id)
    )
    return [_view(row) for row in (await session.execute(stmt)).scalars()]


async def assign(
    session: AsyncSession, team_id: int, occurrence_local: str, role: str, person_id: int, now: datetime
) -> RoleView:
    row = RoleAssignment(
        team_id=team_id,
        occurrence_local=occurrence_local,
        role=role,
        person_id=person_id,
        passed=False,
        assigned_at=now,
    )
    session.add(row)
    await session.flush()
    return _view(row)


async def mark_passed(session: AsyncSession, assignment_ids: Iterable[int]) -> None:
    """The holders of these assignments passed them on."""
    ids = list(assignment_ids)
    if ids:
        await session.execute(update(RoleAssignment).where(RoleAssignment.id.in_(ids)).values(passed=True))


async def latest_meeting(session: AsyncSession, team_id: int) -> str | None:
    """The latest meeting (local wall-clock key) with roles assigned."""
    stmt = select(func.max(RoleAssignment.occurrence_local)).where(RoleAssignment.team_id == team_id)
    value: str | None = (await session.execute(stmt)).scalar_one_or_none()
    return value

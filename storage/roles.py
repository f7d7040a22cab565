"""Meeting role assignments (facilitator, note-taker, timekeeper) and their history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import RoleAssignment


async def history(session: AsyncSession, team_id: int) -> list[RoleAssignment]:
    """Every assignment of the team, oldest first (passes included, flagged)."""
    stmt = (
        select(RoleAssignment)
        .where(RoleAssignment.team_id == team_id)
        .order_by(RoleAssignment.occurrence_local, RoleAssignment.id)
    )
    return list((await session.execute(stmt)).scalars())


async def for_meeting(session: AsyncSession, team_id: int, occurrence_local: str) -> list[RoleAssignment]:
    stmt = (
        select(RoleAssignment)
        .where(RoleAssignment.team_id == team_id, RoleAssignment.occurrence_local == occurrence_local)
        .order_by(RoleAssignment.id)
    )
    return list((await session.execute(stmt)).scalars())


def assign(
    session: AsyncSession, team_id: int, occurrence_local: str, role: str, person_id: int, now: datetime
) -> RoleAssignment:
    row = RoleAssignment(
        team_id=team_id,
        occurrence_local=occurrence_local,
        role=role,
        person_id=person_id,
        passed=False,
        assigned_at=now,
    )
    session.add(row)
    return row


async def latest_meeting(session: AsyncSession, team_id: int) -> str | None:
    """The latest meeting (local wall-clock key) with roles assigned."""
    stmt = select(func.max(RoleAssignment.occurrence_local)).where(RoleAssignment.team_id == team_id)
    value: str | None = (await session.execute(stmt)).scalar_one_or_none()
    return value

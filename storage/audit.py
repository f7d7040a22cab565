"""The audit log of team-level actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry


async def record(
    session: AsyncSession,
    *,
    team_id: int | None,
    actor_person_id: int | None,
    action: str,
    detail: dict[str, Any],
    at: datetime,
) -> None:
    session.add(
        AuditEntry(team_id=team_id, actor_person_id=actor_person_id, action=action, detail=detail, at=at)
    )


async def entries(session: AsyncSession, team_id: int) -> list[AuditEntry]:
    stmt = select(AuditEntry).where(AuditEntry.team_id == team_id).order_by(AuditEntry.id)
    return list((await session.execute(stmt)).scalars())

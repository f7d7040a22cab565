"""The audit log of team-level actions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
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


@dataclass(frozen=True)
class EntryView:
    """One line of a team's audit log: who (a person id; None when no person acted) did what, when."""

    actor_person_id: int | None
    action: str
    detail: Mapping[str, Any]
    at: datetime


async def entries(session: AsyncSession, team_id: int) -> list[EntryView]:
    stmt = (
        select(AuditEntry.actor_person_id, AuditEntry.action, AuditEntry.detail, AuditEntry.at)
        .where(AuditEntry.team_id == team_id)
        .order_by(AuditEntry.id)
    )
    return [
        EntryView(who, action, MappingProxyType(dict(detail or {})), at)
        for who, action, detail, at in (await session.execute(stmt)).all()
    ]

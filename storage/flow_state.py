"""Per-flow state that survives restarts, keyed by (flow, team, key)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import FlowState


async def load(session: AsyncSession, flow: str, team_id: int, key: str) -> dict[str, Any]:
    stmt = select(FlowState.data).where(
        FlowState.flow == flow, FlowState.team_id == team_id, FlowState.key == key
    )
    data = (await session.execute(stmt)).scalar_one_or_none()
    return dict(data) if data else {}


async def save(
    session: AsyncSession, flow: str, team_id: int, key: str, data: dict[str, Any], now: datetime
) -> None:
    stmt = select(FlowState).where(FlowState.flow == flow, FlowState.team_id == team_id, FlowState.key == key)
    row = (await session.execute(stmt.with_for_update())).scalar_one_or_none()
    if row is None:
        session.add(FlowState(flow=flow, team_id=team_id, key=key, data=data, updated_at=now))
    else:
        row.data = data
        row.updated_at = now
    await session.flush()

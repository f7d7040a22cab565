"""How late things run, for `/metrics` (docs/operations.md): the oldest message due and not yet sent, and
the most overdue schedule. Both 0 when nothing is late."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage, OutboxStatus, Schedule


async def oldest_due_message_seconds(session: AsyncSession, now: datetime) -> float:
    """Seconds the longest-waiting message has been due (pending, or leased by a worker that died)."""
    pending = select(func.min(OutboxMessage.next_attempt_at)).where(
        OutboxMessage.status == OutboxStatus.pending, OutboxMessage.next_attempt_at <= now
    )
    stale = select(func.min(OutboxMessage.lease_until)).where(
        OutboxMessage.status == OutboxStatus.sending, OutboxMessage.lease_until < now
    )
    times = [(await session.execute(q)).scalar_one_or_none() for q in (pending, stale)]
    due = [t for t in times if t is not None]
    return max(0.0, (now - min(due)).total_seconds()) if due else 0.0


async def schedule_lateness_seconds(session: AsyncSession, now: datetime) -> float:
    """Seconds the most overdue enabled schedule is past its fire time (no replica ticking, or stuck)."""
    stmt = select(func.min(Schedule.next_fire_at)).where(
        Schedule.enabled.is_(True), Schedule.next_fire_at.is_not(None), Schedule.next_fire_at <= now
    )
    first = (await session.execute(stmt)).scalar_one_or_none()
    return max(0.0, (now - first).total_seconds()) if first is not None else 0.0

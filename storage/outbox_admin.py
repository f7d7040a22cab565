"""What the operator sees of the outbox (`tandem outbox`) and the one thing they may do to it: send a failed
row again (`tandem outbox retry`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage, OutboxStatus, Team, TeamChannel


@dataclass(frozen=True)
class OutboxRow:
    id: int
    team: str | None
    platform: str
    address: str | None
    channel_name: str | None  # the team file's name for the channel, when the row goes to a team channel
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime
    claimed_by: str | None


def _address(target: dict[str, Any]) -> str | None:
    value = target.get("address") or target.get("user") or target.get("private_to")
    return str(value) if value else None


async def unsent(
    session: AsyncSession, *, failed_only: bool = False, team_id: int | None = None, limit: int = 200
) -> list[OutboxRow]:
    """Rows not delivered (waiting, being sent, or failed), oldest first."""
    statuses: Sequence[str] = (
        (OutboxStatus.failed,)
        if failed_only
        else (OutboxStatus.pending, OutboxStatus.sending, OutboxStatus.failed)
    )
    stmt = (
        select(OutboxMessage, Team.name)
        .outerjoin(Team, Team.id == OutboxMessage.team_id)
        .where(OutboxMessage.status.in_(list(statuses)))
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    if team_id is not None:
        stmt = stmt.where(OutboxMessage.team_id == team_id)
    found = (await session.execute(stmt)).all()
    names = {
        (platform, address): name
        for platform, address, name in (
            await session.execute(select(TeamChannel.platform, TeamChannel.address, TeamChannel.name))
        ).all()
    }
    rows = []
    for message, team_name in found:
        address = _address(dict(message.target or {}))
        rows.append(
            OutboxRow(
                id=message.id,
                team=team_name,
                platform=message.platform,
                address=address,
                channel_name=names.get((message.platform, address or "")),
                status=message.status,
                attempts=message.attempts,
                last_error=message.last_error,
                created_at=message.created_at,
                next_attempt_at=message.next_attempt_at,
                claimed_by=message.claimed_by,
            )
        )
    return rows


async def retry_failed(session: AsyncSession, now: datetime, ids: Sequence[int] | None = None) -> list[int]:
    """Put failed rows (these ids, or every failed row) back in the queue, due now, with a fresh count of
    attempts; the ids retried. A row that is not failed is left alone (it is waiting or sent already)."""
    stmt = select(OutboxMessage.id, OutboxMessage.payload).where(OutboxMessage.status == OutboxStatus.failed)
    if ids is not None:
        stmt = stmt.where(OutboxMessage.id.in_(list(ids)))
    # a sensitive row's payload was erased when it failed: there is nothing left to send
    retry = [row_id for row_id, payload in (await session.execute(stmt)).all() if payload is not None]
    if retry:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(retry))
            .values(status=OutboxStatus.pending, attempts=0, next_attempt_at=now, lease_until=None)
        )
    return sorted(retry)


async def status_of(session: AsyncSession, ids: Sequence[int]) -> dict[int, tuple[str, bool]]:
    """(status, payload kept) of each of these rows that exists."""
    stmt = select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.payload).where(
        OutboxMessage.id.in_(list(ids))
    )
    return {i: (s, p is not None) for i, s, p in (await session.execute(stmt)).all()}

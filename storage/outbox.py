"""The delivery outbox: rows written with the state they report, claimed and sent by workers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage, OutboxStatus
from storage.sql import dialect_name


@dataclass(frozen=True)
class ClaimedMessage:
    id: int
    team_id: int | None
    platform: str
    target: dict[str, Any]
    payload: dict[str, Any]
    attempts: int
    replaces_key: str | None = None


def add(
    session: AsyncSession,
    *,
    team_id: int | None,
    platform: str,
    target: dict[str, Any],
    payload: dict[str, Any],
    sensitive: bool,
    now: datetime,
    message_key: str | None = None,
    replaces_key: str | None = None,
) -> OutboxMessage:
    row = OutboxMessage(
        team_id=team_id,
        platform=platform,
        target=target,
        payload=payload,
        sensitive=sensitive,
        status=OutboxStatus.pending,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        message_key=message_key,
        replaces_key=replaces_key,
    )
    session.add(row)
    return row


async def claim_batch(
    session: AsyncSession,
    *,
    worker: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    platforms: Sequence[str],
) -> list[ClaimedMessage]:
    """Lease up to `limit` ready rows to `worker`. A row whose lease expired (its worker died) is ready
    again. On PostgreSQL, FOR UPDATE SKIP LOCKED keeps concurrent workers off each other's rows."""
    ready = or_(
        and_(OutboxMessage.status == OutboxStatus.pending, OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == OutboxStatus.sending, OutboxMessage.lease_until < now),
    )
    stmt = (
        select(OutboxMessage)
        .where(ready, OutboxMessage.platform.in_(list(platforms)))
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    if dialect_name(session) == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list((await session.execute(stmt)).scalars())
    claimed = []
    for row in rows:
        row.status = OutboxStatus.sending
        row.lease_until = now + lease
        row.claimed_by = worker
        claimed.append(
            ClaimedMessage(
                row.id,
                row.team_id,
                row.platform,
                dict(row.target),
                dict(row.payload or {}),
                row.attempts,
                row.replaces_key,
            )
        )
    await session.flush()
    return claimed


async def mark_sent(session: AsyncSession, message_id: int, platform_ref: str | None, now: datetime) -> None:
    values: dict[str, Any] = {
        "status": OutboxStatus.sent,
        "platform_ref": platform_ref,
        "sent_at": now,
        "lease_until": None,
        "last_error": None,
    }
    row = await session.get(OutboxMessage, message_id)
    if row is not None and row.sensitive:
        values["payload"] = None  # a delivered card may carry secrets meant only for its recipient
    await session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values))


async def mark_retry(
    session: AsyncSession, message_id: int, *, attempts: int, next_attempt_at: datetime, error: str
) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(
            status=OutboxStatus.pending,
            attempts=attempts,
            next_attempt_at=next_attempt_at,
            lease_until=None,
            last_error=error[:2000],
        )
    )


async def mark_failed(session: AsyncSession, message_id: int, *, attempts: int, error: str) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(status=OutboxStatus.failed, attempts=attempts, lease_until=None, last_error=error[:2000])
    )


async def counts_by_status(session: AsyncSession) -> dict[str, int]:
    stmt = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    return {str(status): int(n) for status, n in (await session.execute(stmt)).all()}


async def messages(session: AsyncSession, team_id: int | None = None) -> list[OutboxMessage]:
    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    if team_id is not None:
        stmt = stmt.where(OutboxMessage.team_id == team_id)
    return list((await session.execute(stmt)).scalars())


async def sent_ref(session: AsyncSession, message_key: str, platform: str, address: str | None) -> str | None:
    """The platform reference of the latest sent message with this key at this address (to update it)."""
    stmt = (
        select(OutboxMessage.platform_ref, OutboxMessage.target)
        .where(
            OutboxMessage.message_key == message_key,
            OutboxMessage.platform == platform,
            OutboxMessage.status == OutboxStatus.sent,
            OutboxMessage.platform_ref.is_not(None),
        )
        .order_by(OutboxMessage.id.desc())
    )
    for ref, target in (await session.execute(stmt)).all():
        if (target or {}).get("address") == address:
            return str(ref)
    return None

"""Inbound idempotency: remember which platform events were already processed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ProcessedEvent
from storage.sql import insert_ignore


async def first_time(session: AsyncSession, key: str, now: datetime) -> bool:
    """True the first time `key` is seen; False for a retry or a double click."""
    return await insert_ignore(session, ProcessedEvent, {"key": key[:300], "processed_at": now})


async def prune(session: AsyncSession, before: datetime) -> int:
    """Forget idempotency keys older than `before` (platform retries arrive within minutes)."""
    result = await session.execute(delete(ProcessedEvent).where(ProcessedEvent.processed_at < before))
    return int(getattr(result, "rowcount", 0) or 0)

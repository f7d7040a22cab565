"""Housekeeping, hourly in every process (idempotent, so replicas may overlap): prune delivered outbox
rows and old idempotency keys."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flows.core.clock import Clock
from storage import events, outbox

log = logging.getLogger("tandem.housekeeping")


async def run(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, *, retention: timedelta = timedelta(days=7)
) -> tuple[int, int]:
    """(outbox rows, idempotency keys) deleted. Sent rows go after `retention`; failed ones after four
    times that, so a co-chair has time to see what could not be delivered."""
    now = clock.now()
    async with sessions() as session, session.begin():
        rows = await outbox.prune(session, sent_before=now - retention, failed_before=now - 4 * retention)
        keys = await events.prune(session, now - retention)
    if rows or keys:
        log.info("housekeeping: pruned %s outbox rows and %s event keys", rows, keys)
    return rows, keys

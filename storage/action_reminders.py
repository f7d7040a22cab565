"""The reminder pass's own batch write: each item's next reminder time, in one statement. What it reads
about many teams at once (calendars, zones, away days, members, the reminder policy) is
storage/team_rules.py: one pass over a few hundred items on as many teams costs nine queries, not six per
team.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.action_models import ActionItem

_NEXT = (
    update(ActionItem).where(ActionItem.id == bindparam("item_id")).values(next_remind_at=bindparam("when"))
)


async def set_next_reminds(session: AsyncSession, pairs: Sequence[tuple[int, datetime | None]]) -> None:
    """Each item's next reminder decision time, in one statement for the whole pass."""
    if pairs:
        connection = await session.connection()
        await connection.execute(_NEXT, [{"item_id": i, "when": w} for i, w in pairs])

"""Inbound idempotency: remember which platform events were already processed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, literal, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from storage import teams
from storage.models import Identity, Person, ProcessedEvent
from storage.sql import dialect_name, insert_ignore


async def first_time(session: AsyncSession, key: str, now: datetime) -> bool:
    """True the first time `key` is seen; False for a retry or a double click."""
    return await insert_ignore(session, ProcessedEvent, {"key": key[:300], "processed_at": now})


def _first_time_from() -> Any:
    """PostgreSQL: the idempotency insert (a data-modifying CTE) and the sender's lookup in one statement."""
    fresh = (
        postgresql.insert(ProcessedEvent)
        .values(key=bindparam("key"), processed_at=bindparam("now"))
        .on_conflict_do_nothing()
        .returning(ProcessedEvent.key)
        .cte("fresh")
    )
    sender = (
        select(Identity.person_id)
        .where(Identity.platform == bindparam("platform"), Identity.user_id == bindparam("user_id"))
        .limit(1)
        .scalar_subquery()
    )
    one_row = select(literal(1).label("one")).subquery()
    return (
        select(select(func.count()).select_from(fresh).scalar_subquery().label("fresh"), Person)
        .select_from(one_row)
        .outerjoin(Person, Person.id == sender)
        .add_cte(fresh)
    )


_FIRST_TIME_FROM = _first_time_from()  # built once: on every inbound event's path


async def first_time_from(
    session: AsyncSession, key: str, now: datetime, platform: str, user_id: str
) -> tuple[bool, teams.PersonView | None]:
    """`first_time(key)` and the person with this platform identity (None: a stranger), together: one
    round trip on PostgreSQL, two elsewhere."""
    if dialect_name(session) != "postgresql":
        fresh = await first_time(session, key, now)
        return fresh, await teams.person_by_identity(session, platform, user_id) if fresh else None
    params = {"key": key[:300], "now": now, "platform": platform, "user_id": user_id}
    row = (await session.execute(_FIRST_TIME_FROM, params)).one()
    return bool(row.fresh), teams.person_view(row.Person) if row.Person is not None else None


async def prune(session: AsyncSession, before: datetime) -> int:
    """Forget idempotency keys older than `before` (platform retries arrive within minutes)."""
    result = await session.execute(delete(ProcessedEvent).where(ProcessedEvent.processed_at < before))
    return int(getattr(result, "rowcount", 0) or 0)

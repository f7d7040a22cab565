"""Small dialect helpers shared by the query modules."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_name(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


_IGNORING: dict[tuple[str, type[Any]], Any] = {}  # built once per dialect and model: on every event's path


async def insert_ignore(session: AsyncSession, model: type[Any], values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when the row was inserted (we won the race)."""
    dialect = dialect_name(session)
    stmt = _IGNORING.get((dialect, model))
    if stmt is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = _IGNORING[(dialect, model)] = insert(model.__table__).on_conflict_do_nothing()
    result = await (await session.connection()).execute(stmt, values)  # Core: no ORM machinery around it
    return bool(getattr(result, "rowcount", 0))

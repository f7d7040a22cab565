"""The migrations build exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.schema import Base


async def test_migrated_schema_matches_the_models(sessions: async_sessionmaker[AsyncSession]) -> None:
    def diff(connection: Any) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with sessions() as session:
        connection = await session.connection()
        assert await connection.run_sync(diff) == []


async def test_sqlite_runs_with_wal_and_foreign_keys(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        if session.get_bind().dialect.name != "sqlite":
            assert session.get_bind().dialect.name == "postgresql"
            return
        assert (await session.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"
        assert (await session.execute(text("PRAGMA foreign_keys"))).scalar_one() == 1

"""The migrations build exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.db import create_engine
from storage.migrate import upgrade
from storage.schema import Base
from tests.conftest import PG_ADMIN_URL, _admin

# Migrations run on PostgreSQL as well; the SQLite pragmas, on SQLite (tests/conftest.py).


@pytest.mark.both_databases
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


@pytest.fixture(params=["sqlite", "postgresql"])
async def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of each kind, not migrated."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"tandem_fresh_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.both_databases
async def test_the_chart_moves_into_the_database_without_touching_polls_or_answers(fresh_url: str) -> None:
    """0005_chart_in_db drops `chart_path` and 0006_sealed drops the receipt hashes and adds CHECKs: on
    SQLite that rebuilds tables (batch mode), which with foreign keys on would cascade to every ballot and
    answer (storage/migrate.py turns them off while migrating, and checks them before commit)."""
    engine = create_engine(fresh_url)
    try:
        await upgrade(engine, "0004_pulse")
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO teams (name, timezone, language, settings, created_at) "
                    "VALUES ('T', 'UTC', 'en', '{}', '2026-01-01')"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO pulse_polls (team_id, instrument_id, instrument, status, min_responses, "
                    "invited, remind_days, reminders_sent, sides_recorded, opened_at, opened_local, "
                    "closes_at, chart_path) VALUES (1, 'relational-trust', '{}', 'released', 5, 5, '[]', 0, "
                    "false, '2026-01-01', '2026-01-01T00:00:00', '2026-01-08', '/tmp/tandem-charts/x.png')"
                )
            )
            await connection.execute(
                text("INSERT INTO pulse_ballots (id, poll_id, receipt_hash) VALUES ('b1', 1, NULL)")
            )
            await connection.execute(
                text("INSERT INTO pulse_comments (id, poll_id, text) VALUES ('c1', 1, 'ok')")
            )
            await connection.execute(
                text(
                    "INSERT INTO pulse_answers (id, ballot_id, poll_id, component_id, item_id, value) "
                    "VALUES ('a1', 'b1', 1, 'respect', 'respect.listen', 4)"
                )
            )
        await upgrade(engine)
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT id, chart_png FROM pulse_polls"))).all() == [
                (1, None)
            ]
            assert (await connection.execute(text("SELECT count(*) FROM pulse_answers"))).scalar_one() == 1
            assert (await connection.execute(text("SELECT text FROM pulse_comments"))).scalar_one() == "ok"
            columns = await connection.run_sync(
                lambda c: {
                    t: {col["name"] for col in inspect(c).get_columns(t)}
                    for t in ("pulse_polls", "pulse_ballots", "pulse_comments")
                }
            )
            if connection.dialect.name == "sqlite":
                assert (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar_one() == 1
                for table in ("pulse_ballots", "pulse_answers", "pulse_comments", "pulse_sealed"):
                    sql = "SELECT sql FROM sqlite_master WHERE name = :t"
                    created = (await connection.execute(text(sql), {"t": table})).scalar_one()
                    assert "WITHOUT ROWID" in created, table  # the rebuild kept the answers unordered
        assert "chart_png" in columns["pulse_polls"] and "chart_path" not in columns["pulse_polls"]
        assert "receipt_hash" not in columns["pulse_ballots"] | columns["pulse_comments"]
    finally:
        await engine.dispose()


def test_the_migrations_have_one_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option(
        "script_location", str(Path(__file__).resolve().parent.parent / "storage" / "migrations")
    )
    assert ScriptDirectory.from_config(config).get_heads() == ["0015_one_head"]

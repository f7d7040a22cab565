"""0013_team_data on a database where two teams already named one channel, on SQLite and PostgreSQL: the
team that answered there (the first) keeps it, and every member keeps the name they had."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import create_engine
from storage.migrate import upgrade
from tests.conftest import PG_ADMIN_URL, _admin


@pytest.fixture(params=["sqlite", "postgresql"])
async def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"tandem_fresh_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_two_teams_in_one_channel_become_one(fresh_url: str) -> None:
    engine = create_engine(fresh_url)
    try:
        await upgrade(engine, "0008_person_language")
        async with engine.begin() as connection:
            for team in ("A", "B"):
                await connection.execute(
                    text(
                        "INSERT INTO teams (name, timezone, language, settings, created_at) "
                        "VALUES (:name, 'UTC', 'en', '{}', '2026-01-01')"
                    ),
                    {"name": team},
                )
            await connection.execute(
                text("INSERT INTO people (display_name, created_at) VALUES ('Aisha', '2026-01-01')")
            )
            await connection.execute(
                text(
                    "INSERT INTO memberships (team_id, person_id, side, co_chair, position, joined_at) "
                    "VALUES (1, 1, 'labor', true, 0, '2026-01-01'), (2, 1, 'labor', true, 0, '2026-01-01')"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO team_channels (team_id, platform, workspace, address, name) VALUES "
                    "(2, 'slack', '', 'C1', '#b'), (1, 'slack', '', 'C1', '#a'), "
                    "(2, 'slack', '', 'C2', '#b2')"
                )
            )
        await upgrade(engine)
        async with engine.connect() as connection:
            channels = (
                await connection.execute(text("SELECT team_id, address FROM team_channels ORDER BY address"))
            ).all()
            names = (await connection.execute(text("SELECT DISTINCT display_name FROM memberships"))).all()
        assert [tuple(c) for c in channels] == [(1, "C1"), (2, "C2")]
        assert [tuple(n) for n in names] == [("Aisha",)]
    finally:
        await engine.dispose()

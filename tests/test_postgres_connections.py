"""PostgreSQL connections without a ping per checkout (storage/db.py): when the server drops every
connection (a restart, a failover), the next statement fails once, SQLAlchemy discards the whole pool,
and the retry that follows (the outbox's, a tick's, Slack's retry of a handled event) works."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from storage.db import create_engine, session_factory
from tests.conftest import _admin


async def test_dropped_connections_fail_one_attempt_and_the_next_gets_a_fresh_pool(
    postgres_url: str,
) -> None:
    engine = create_engine(postgres_url, pool_size=3)
    sessions = session_factory(engine)
    try:
        async with sessions() as a, sessions() as b:  # two pooled connections
            await a.execute(text("SELECT 1"))
            await b.execute(text("SELECT 1"))
        database = make_url(postgres_url).database
        await _admin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{database}' AND pid <> pg_backend_pid()"
        )
        with pytest.raises(DBAPIError) as failed:
            async with sessions() as session, session.begin():
                await session.execute(text("SELECT 1"))
        assert failed.value.connection_invalidated
        async with sessions() as a, sessions() as b:  # both pooled connections were replaced
            assert (await a.execute(text("SELECT 1"))).scalar_one() == 1
            assert (await b.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()

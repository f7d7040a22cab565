"""Anonymity is structural: no table or column lets an answer be joined to a person."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import DateTime, String, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import UtcDateTime
from storage.pulse_models import PulseAnswer, PulseBallot, PulseComment
from storage.schema import Base
from tests.conftest import Stack
from tests.pulse.conftest import all_items, answer, big_team, current_poll

pytestmark = pytest.mark.both_databases  # a storage behaviour: on PostgreSQL as well (tests/conftest.py)

ANSWER_TABLES = ("pulse_ballots", "pulse_answers", "pulse_comments")
PERSONAL_TABLES = {"people", "identities", "memberships", "pulse_sealed", "audit_log", "outbox"}
PERSONAL_WORDS = ("person", "people", "member", "identity", "user", "actor", "author", "by", "email", "name")


def test_answer_rows_cannot_be_joined_to_a_person() -> None:
    for name in ANSWER_TABLES:
        table = Base.metadata.tables[name]
        for column in table.columns:
            words = column.name.lower().split("_")
            assert not any(w in words for w in PERSONAL_WORDS), f"{name}.{column.name} names a person"
            assert not isinstance(column.type, DateTime | UtcDateTime), f"{name}.{column.name} is a timestamp"
            for fk in column.foreign_keys:
                assert fk.column.table.name not in PERSONAL_TABLES, (
                    f"{name}.{column.name} -> {fk.target_fullname}"
                )
                assert fk.column.table.name in {"pulse_polls", "pulse_ballots"}, fk.target_fullname
        (pk,) = table.primary_key.columns
        assert isinstance(pk.type, String) and pk.autoincrement is not True, f"{name}: random string ids"
        assert table.dialect_kwargs.get("sqlite_with_rowid") is False, f"{name}: no hidden rowid order"


def test_the_sealed_table_holds_nothing_in_the_clear() -> None:
    table = Base.metadata.tables["pulse_sealed"]
    assert {c.name for c in table.columns} == {"poll_id", "person_id", "sealed"}
    assert {fk.column.table.name for fk in table.foreign_keys} == {"pulse_polls", "people"}
    for name in ANSWER_TABLES:  # and nothing points from the answers to it
        assert all(fk.column.table.name != "pulse_sealed" for fk in Base.metadata.tables[name].foreign_keys)


async def test_stored_rows_have_random_ids_and_no_rowid(
    stack: Stack, sessions: async_sessionmaker[AsyncSession]
) -> None:
    stack.clock.set(datetime(2026, 10, 5, 16, 0, tzinfo=UTC))
    team = await stack.import_team(big_team())
    await stack.local.command("l0", "pulse start")
    await stack.worker.drain()
    poll = await current_poll(stack, team.id)
    for user in ("l1", "l2", "l3", "m1", "m2"):
        await answer(stack, user, poll.id, {**all_items(3), "comment": f"from {user}"})
    await stack.local.command("l0", "pulse close")
    async with sessions() as session:
        ids = [*(await session.execute(select(PulseBallot.id))).scalars()]
        ids += [*(await session.execute(select(PulseAnswer.id))).scalars()]
        ids += [*(await session.execute(select(PulseComment.id))).scalars()]
        assert len(ids) == 5 + 60 + 5 and len(set(ids)) == len(ids)
        assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
        assert sorted(ids) != ids or len(ids) < 3  # not handed out in order
        if session.get_bind().dialect.name == "sqlite":
            for name in ("pulse_ballots", "pulse_answers", "pulse_comments", "pulse_sealed"):
                sql = (
                    await session.execute(text(f"SELECT sql FROM sqlite_master WHERE name = '{name}'"))
                ).scalar()
                assert "WITHOUT ROWID" in str(sql)

        def columns(connection: object) -> dict[str, set[str]]:
            inspector = inspect(connection)
            return {
                t: {c["name"] for c in inspector.get_columns(t)} for t in (*ANSWER_TABLES, "pulse_sealed")
            }

        migrated = await (await session.connection()).run_sync(columns)
    assert migrated["pulse_sealed"] == {"poll_id", "person_id", "sealed"}
    assert not any("person" in c for t in ANSWER_TABLES for c in migrated[t])


async def test_the_database_refuses_a_second_open_poll_and_unknown_statuses(
    stack: Stack, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The rules hold in the schema itself, whatever a replica's code does in a race."""
    stack.clock.set(datetime(2026, 10, 5, 16, 0, tzinfo=UTC))
    team = await stack.import_team(big_team())
    await stack.local.command("l0", "pulse start")
    poll = await current_poll(stack, team.id)

    async def refused(sql: str) -> None:
        async with sessions() as session:
            with pytest.raises(IntegrityError):
                async with session.begin():
                    await session.execute(text(sql))

    columns = "team_id, instrument_id, instrument, status, min_responses, invited, remind_days, "
    columns += "reminders_sent, sides_recorded, opened_at, opened_local, closes_at"
    values = f"{team.id}, '{poll.instrument_id}', '{{}}', 'STATUS', 5, 12, '[]', 0, false, "
    values += "'2026-10-05 16:00:00', '2026-10-05T09:00:00', '2026-10-12 16:00:00'"
    insert = f"INSERT INTO pulse_polls ({columns}) VALUES ({values})"
    await refused(insert.replace("STATUS", "open"))  # a second open poll of the same instrument
    await refused(insert.replace("STATUS", "paused"))  # not a status
    await refused(f"UPDATE pulse_polls SET status = 'closed' WHERE id = {poll.id}")
    await refused(f"UPDATE memberships SET side = 'union' WHERE team_id = {team.id}")
    await refused("UPDATE outbox SET status = 'lost'")
    async with sessions() as session, session.begin():  # a released one beside the open one is fine
        await session.execute(text(insert.replace("STATUS", "released")))

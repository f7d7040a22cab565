"""`setup`: a co-chair creates a team from a channel in chat, through the local adapter and through Slack."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from flows.core.types import Actor
from flows.setup.chat import SetupError, parse_setup
from storage import teams
from storage.models import Identity, Membership, Team
from tests.conftest import Stack, team_spec

SETUP = "setup Riverside DLT; America/Los_Angeles; labor @0; management @1; labor members @2"


async def _team(stack: Stack, name: str) -> Team | None:
    async with stack.sessions() as session:
        return await teams.team_by_name(session, name)


async def test_a_co_chair_sets_up_a_team_from_the_channel(stack: Stack) -> None:
    await stack.local.command("maria", SETUP, channel="dlt", mentions=["maria", "david", "cy"])
    await stack.worker.drain()
    team = await _team(stack, "Riverside DLT")
    assert team is not None and team.timezone == "America/Los_Angeles"
    assert [(c.platform, c.address) for c in team.channels] == [("local", "dlt")]
    async with stack.sessions() as session:
        members = await teams.members(session, team.id)
        identities = (await session.execute(select(Identity.platform, Identity.user_id))).all()
    assert [(m.side, m.co_chair) for m in members] == [
        ("labor", True),
        ("management", True),
        ("labor", False),
    ]
    assert sorted(identities) == [("local", "cy"), ("local", "david"), ("local", "maria")]
    announced = [t for t in stack.local.transcript if t.where.startswith("#") or "dlt" in t.where]
    assert announced and "riverside dlt" in announced[-1].text.lower()


async def test_refusals_name_the_problem_and_write_nothing(stack: Stack) -> None:
    cases = [
        (
            "maria",
            "setup Riverside DLT; America/Los_Angeles; labor @0; management @1",
            ["cy", "david"],
            "co-chair",
        ),
        (
            "maria",
            "setup Riverside DLT; Mars/Olympus; labor @0; management @1",
            ["maria", "david"],
            "timezone",
        ),
        (
            "maria",
            "setup Riverside DLT; America/Los_Angeles; labor @0 @1",
            ["maria", "cy"],
            "co-chairs from both sides",
        ),
        (
            "maria",
            "setup Riverside DLT; America/Los_Angeles; labor maria; management @0",
            ["david"],
            "mention",
        ),
        ("maria", "setup Riverside DLT", [], "time zone"),
        ("maria", "setup X; America/Los_Angeles; teachers @0; management @1", ["maria", "d"], "not a side"),
    ]
    for user, text, mentions, why in cases:
        await stack.local.command(user, text, channel="dlt", mentions=mentions)
        await stack.worker.drain()
        reply = stack.local.transcript[-1].text
        assert "could not set up the team" in reply and why in reply, (text, reply)
    async with stack.sessions() as session:
        assert (await session.execute(select(Team))).first() is None
        assert (await session.execute(select(Membership))).first() is None


async def test_setup_in_a_dm_or_over_an_existing_team_is_refused(stack: Stack) -> None:
    await stack.local.command("maria", SETUP, mentions=["maria", "david", "cy"])  # a DM
    await stack.worker.drain()
    assert "run it in the channel" in stack.local.transcript[-1].text
    await stack.local.command("maria", SETUP, channel="dlt", mentions=["maria", "david", "cy"])
    await stack.local.command("david", SETUP, channel="other", mentions=["david", "maria", "cy"])
    await stack.worker.drain()
    assert "already exists" in stack.local.transcript[-1].text
    renamed = SETUP.replace("Riverside DLT", "Another")
    await stack.local.command("david", renamed, channel="dlt", mentions=["david", "maria", "cy"])
    await stack.worker.drain()
    assert "already belongs" in stack.local.transcript[-1].text


def test_parse_setup_reads_sides_and_members() -> None:
    people = (Actor("slack", "U1"), Actor("slack", "U2"))
    name, zone, rows = parse_setup("Team A ; Europe/Paris; labor @0, ; management @1", people)
    assert (name, zone) == ("Team A", "Europe/Paris")
    assert [(p.user_id, s, c) for p, s, c in rows] == [("U1", "labor", True), ("U2", "management", True)]
    try:
        parse_setup("A; Europe/Paris; labor @0 @0", people)
    except SetupError as exc:
        assert "twice" in str(exc)
    else:
        raise AssertionError("a person listed twice must be refused")


@pytest.mark.both_databases  # the constraint is the database's
async def test_a_setup_that_loses_the_channel_mid_turn_gets_a_reply_and_writes_nothing(
    stack: Stack, database_url: str
) -> None:
    """Two co-chairs set up two teams in one channel at the same moment (on PostgreSQL both pass the
    "channel taken?" check): the second insert of the channel is refused by the database. Here that
    insert is made inside this `setup`'s own turn, just before its own, so the refusal comes exactly
    there: the person is told nothing was saved and to try again, and nothing of the setup is stored."""
    other = await stack.import_team(
        team_spec(
            name="Other team",
            channels=[{"platform": "local", "id": "elsewhere"}],
            members=[
                {"name": "Olive Labor", "side": "labor", "co_chair": True, "local": "olive"},
                {"name": "Omar Manager", "side": "management", "co_chair": True, "local": "omar"},
            ],
        )
    )
    sync_engine = stack.sessions.kw["bind"].sync_engine
    taken: list[str] = []

    def the_other_setup_wins(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.startswith("INSERT INTO team_channels") and not taken:
            taken.append(statement)
            cursor.execute(
                "INSERT INTO team_channels (team_id, platform, workspace, address) "
                f"VALUES ({int(other.id)}, 'local', '', 'dlt')"
            )

    event.listen(sync_engine, "before_cursor_execute", the_other_setup_wins)
    try:
        await stack.local.command("maria", SETUP, channel="dlt", mentions=["maria", "david", "cy"])
    finally:
        event.remove(sync_engine, "before_cursor_execute", the_other_setup_wins)
    await stack.worker.drain()
    assert taken, "the setup never reached its insert of the channel"
    said = " ".join(stack.local.transcript[-1].text.split())
    assert "nothing of this was saved" in said and "try again" in said, said
    assert await _team(stack, "Riverside DLT") is None
    async with stack.sessions() as session:
        people = set((await session.execute(select(Identity.user_id))).scalars())
    assert people == {"olive", "omar"}  # nobody of the refused setup was written
    # tried again (the channel's other insert was part of the undone turn here): set up, nothing in the way
    await stack.local.command("maria", SETUP, channel="dlt", mentions=["maria", "david", "cy"])
    await stack.worker.drain()
    assert await _team(stack, "Riverside DLT") is not None

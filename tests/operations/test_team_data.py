"""Team data that cannot collide (issue 19, item 4): a channel belongs to one team, a person's name is per
team, a team's member names tell people apart, and a team file's language has a catalog."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flows.core.clock import ManualClock
from flows.setup.team_file import TeamFileError, import_team, parse_team_file
from storage import slack_users, teams
from storage.models import Membership, Person, Team, TeamChannel
from tests.conftest import team_spec

pytestmark = pytest.mark.both_databases  # constraints and names across teams: a storage behaviour


def _slack_team(name: str, channel: str, members: list[tuple[str, str, str, bool]]) -> dict[str, Any]:
    return team_spec(
        name=name,
        channels=[{"platform": "slack", "id": channel, "name": "#lm-team"}],
        members=[
            {"name": n, "side": side, "co_chair": chair, "slack": uid} for n, uid, side, chair in members
        ],
    )


A_MEMBERS = [("Aisha Khan", "U0AISHA", "labor", True), ("Bo Chen", "U0BO", "management", True)]
B_MEMBERS = [("Maria Lopez", "U0AISHA", "labor", True), ("Dee Park", "U0DEE", "management", True)]


async def _import(
    sessions: async_sessionmaker[AsyncSession], clock: ManualClock, spec: dict[str, Any]
) -> None:
    async with sessions() as session, session.begin():
        await import_team(session, parse_team_file(spec), clock.now())


async def _names(sessions: async_sessionmaker[AsyncSession], team: str) -> list[str]:
    async with sessions() as session:
        found = await teams.team_by_name(session, team)
        assert found is not None
        return [m.name for m in await teams.members(session, found.id)]


async def test_a_channel_claimed_by_another_team_is_refused_naming_that_team(
    sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    await _import(sessions, clock, _slack_team("Riverside DLT", "C0LMTEAM", A_MEMBERS))
    with pytest.raises(TeamFileError) as refused:
        await _import(sessions, clock, _slack_team("Hillcrest DLT", "C0LMTEAM", B_MEMBERS))
    assert "#lm-team (C0LMTEAM) already belongs to team 'Riverside DLT'" in str(refused.value)
    async with sessions() as session:
        assert await teams.all_team_names(session) == ["Riverside DLT"]
        assert (await session.execute(select(func.count()).select_from(Person))).scalar_one() == 2
    # the team that owns it may import its file again
    await _import(sessions, clock, _slack_team("Riverside DLT", "C0LMTEAM", A_MEMBERS))


async def test_the_database_itself_refuses_a_second_team_in_a_channel(
    sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    await _import(sessions, clock, _slack_team("Riverside DLT", "C0LMTEAM", A_MEMBERS))
    await _import(sessions, clock, _slack_team("Hillcrest DLT", "C0OTHER", B_MEMBERS))
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            other = await teams.team_by_name(session, "Hillcrest DLT")
            assert other is not None
            session.add(TeamChannel(team_id=other.id, platform="slack", workspace="", address="C0LMTEAM"))


async def test_another_teams_file_never_renames_a_person(
    sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    """Team B's file lists U0AISHA as "Maria Lopez": team A still knows her as Aisha Khan."""
    await _import(sessions, clock, _slack_team("Riverside DLT", "C0A", A_MEMBERS))
    await _import(sessions, clock, _slack_team("Hillcrest DLT", "C0B", B_MEMBERS))
    assert await _names(sessions, "Riverside DLT") == ["Aisha Khan", "Bo Chen"]
    assert await _names(sessions, "Hillcrest DLT") == ["Maria Lopez", "Dee Park"]
    async with sessions() as session:  # one person, in both teams
        person = await teams.person_by_identity(session, "slack", "U0AISHA")
        assert person is not None and person.display_name == "Aisha Khan"
        assert [t.name for t in await teams.teams_of_person(session, person.id)] == [
            "Hillcrest DLT",
            "Riverside DLT",
        ]
    # a team renames its own member in its own file
    renamed = [("Aisha K. Rahman", "U0AISHA", "labor", True), A_MEMBERS[1]]
    await _import(sessions, clock, _slack_team("Riverside DLT", "C0A", renamed))
    assert await _names(sessions, "Riverside DLT") == ["Aisha K. Rahman", "Bo Chen"]
    assert await _names(sessions, "Hillcrest DLT") == ["Maria Lopez", "Dee Park"]


async def test_two_members_with_one_name_are_refused(
    sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    twins = [*A_MEMBERS, ("aisha khan", "U0TWIN", "labor", False)]
    with pytest.raises(TeamFileError, match="two members are named 'aisha khan'"):
        await _import(sessions, clock, _slack_team("Riverside DLT", "C0A", twins))
    async with sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Team))).scalar_one() == 0
        assert (await session.execute(select(func.count()).select_from(Membership))).scalar_one() == 0


def test_a_language_without_a_catalog_is_refused() -> None:
    with pytest.raises(TeamFileError, match="language: no catalog for language 'klingon'"):
        parse_team_file(team_spec(language="klingon"))
    assert parse_team_file(team_spec(language="en")).language == "en"


def test_a_channel_listed_twice_in_one_file_is_refused() -> None:
    twice = [{"platform": "local", "id": "c1"}, {"platform": "local", "id": "c1", "name": "#again"}]
    with pytest.raises(TeamFileError, match="a channel is listed twice"):
        parse_team_file(team_spec(channels=twice))


async def test_a_member_known_only_by_id_takes_the_name_from_the_platform(
    sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    """`/tandem setup` names a member it knows nothing about by their id; their Slack profile names them."""
    by_id = [("Aisha Khan", "U0AISHA", "labor", True), ("U0BO", "U0BO", "management", True)]
    await _import(sessions, clock, _slack_team("Riverside DLT", "C0A", by_id))
    async with sessions() as session, session.begin():
        await slack_users.store_profile(session, "U0BO", "Bo Chen", None)
        await slack_users.store_profile(session, "U0AISHA", "aisha.k", None)  # a file's name is kept
    assert await _names(sessions, "Riverside DLT") == ["Aisha Khan", "Bo Chen"]


async def test_a_channel_whose_workspace_was_filled_in_is_still_taken(
    sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    """Slack fills a channel's workspace in when someone first speaks there; a file naming the channel
    without one still finds its owner."""
    await _import(sessions, clock, _slack_team("Riverside DLT", "C0LMTEAM", A_MEMBERS))
    async with sessions() as session, session.begin():
        await slack_users.learn_workspace(session, "T0DISTRICT", "U0AISHA", "C0LMTEAM")
    with pytest.raises(TeamFileError, match="already belongs to team 'Riverside DLT'"):
        await _import(sessions, clock, _slack_team("Hillcrest DLT", "C0LMTEAM", B_MEMBERS))

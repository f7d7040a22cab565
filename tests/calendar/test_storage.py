"""storage/calendar.py on SQLite and PostgreSQL: the frozen values flows build on, and the constraints."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flows.setup.team_file import import_team, parse_team_file
from storage import calendar
from storage.calendar_models import PersonAway
from storage.models import Person
from storage.schedules import for_team
from storage.teams import members
from tests.conftest import team_spec

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

pytestmark = pytest.mark.both_databases  # constraints and queries: on PostgreSQL as well (tests/conftest.py)


async def _team(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, list[int]]:
    async with sessions() as session, session.begin():
        team = await import_team(session, parse_team_file(team_spec()), NOW)
        return team.id, [m.person_id for m in await members(session, team.id)]


async def test_a_new_team_works_monday_to_friday_with_no_holidays(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    team_id, _ = await _team(sessions)
    async with sessions() as session:
        cal = await calendar.team_calendar(session, team_id)
    assert cal.timezone == "America/Los_Angeles"
    assert cal.workdays == frozenset({0, 1, 2, 3, 4})
    assert date(2026, 12, 25) not in cal.holidays
    assert list(cal.holidays) == []


async def test_holidays_settings_and_the_federal_opt_in(sessions: async_sessionmaker[AsyncSession]) -> None:
    team_id, _ = await _team(sessions)
    async with sessions() as session, session.begin():
        assert await calendar.add_holiday(session, team_id, date(2026, 12, 24), "Winter break")
        assert not await calendar.add_holiday(session, team_id, date(2026, 12, 24), "Again")
        await calendar.set_team_calendar_settings(
            session, team_id, us_federal=True, workdays=frozenset({0, 1, 2, 3})
        )
    async with sessions() as session:
        cal = await calendar.team_calendar(session, team_id)
    assert cal.holidays[date(2026, 12, 24)] == "Winter break"
    assert cal.holidays[date(2026, 12, 25)] == "Christmas Day"
    assert cal.workdays == frozenset({0, 1, 2, 3})
    async with sessions() as session, session.begin():
        assert await calendar.remove_holiday(session, team_id, date(2026, 12, 24))
        assert not await calendar.remove_holiday(session, team_id, date(2026, 12, 24))
        await calendar.set_team_calendar_settings(session, team_id, us_federal=False)
    async with sessions() as session:
        cal = await calendar.team_calendar(session, team_id)
    assert date(2026, 12, 24) not in cal.holidays and date(2026, 12, 25) not in cal.holidays


async def test_away_ranges_and_the_database_refuses_a_reversed_range(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    team_id, people = await _team(sessions)
    async with sessions() as session, session.begin():
        await calendar.add_away(session, team_id, people[2], date(2027, 2, 1), date(2027, 2, 1))
        await calendar.add_away(session, team_id, people[2], date(2026, 12, 21), date(2027, 1, 4))
    async with sessions() as session:
        ranges = await calendar.away_ranges(session, team_id)
    assert ranges == {
        people[2]: ((date(2026, 12, 21), date(2027, 1, 4)), (date(2027, 2, 1), date(2027, 2, 1)))
    }
    with pytest.raises(ValueError):
        async with sessions() as session, session.begin():
            await calendar.add_away(session, team_id, people[2], date(2027, 1, 4), date(2026, 12, 21))
    with pytest.raises(IntegrityError):  # the CHECK holds even for a writer that skips the function
        async with sessions() as session, session.begin():
            session.add(
                PersonAway(
                    team_id=team_id,
                    person_id=people[3],
                    first_day=date(2027, 1, 4),
                    last_day=date(2027, 1, 1),
                )
            )
    async with sessions() as session, session.begin():
        assert await calendar.clear_away(session, team_id, people[2]) == 2
    async with sessions() as session:
        assert await calendar.away_ranges(session, team_id) == {}


async def test_person_zones_fall_back_to_the_team_and_unknown_zones_are_never_stored(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    team_id, people = await _team(sessions)
    async with sessions() as session, session.begin():
        await calendar.set_person_timezone(session, people[0], "America/New_York")
        await calendar.set_person_timezone(session, people[1], "Mars/Olympus_Mons")
        await calendar.set_person_timezone(session, people[1], "../../etc/passwd")
        await calendar.set_person_timezone(session, people[1], "")
    async with sessions() as session:
        zones = await calendar.person_zones(session, team_id)
        stored = (await session.execute(select(Person.timezone).where(Person.id == people[1]))).scalar_one()
    assert zones[people[0]] == "America/New_York"
    assert zones[people[1]] == "America/Los_Angeles"
    assert set(zones) == set(people)
    assert stored is None


async def test_schedule_exceptions_replace_one_another(sessions: async_sessionmaker[AsyncSession]) -> None:
    team_id, people = await _team(sessions)
    async with sessions() as session, session.begin():
        (meeting,) = await for_team(session, team_id, "meeting")
        await calendar.set_schedule_exception(
            session, meeting.id, "2026-12-22T16:00:00", None, people[0], NOW
        )
        await calendar.set_schedule_exception(
            session, meeting.id, "2026-12-29T16:00:00", "2026-12-30T16:00:00", people[0], NOW
        )
        await calendar.set_schedule_exception(
            session, meeting.id, "2026-12-22T16:00:00", "2026-12-23T16:00:00", people[1], NOW
        )
    async with sessions() as session:
        assert await calendar.schedule_exceptions(session, meeting.id) == {
            "2026-12-22T16:00:00": "2026-12-23T16:00:00",
            "2026-12-29T16:00:00": "2026-12-30T16:00:00",
        }

"""The team calendar: working days, holidays (the team's own, plus the built-in US federal ones when the
team opted in), who is away when, and each person's time zone. Flows get frozen values; the pure rules
over them are in flows/core/calendar.py."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.calendar_models import PersonAway, ScheduleException, TeamHoliday
from storage.models import Identity, Membership, Person, Team
from storage.sql import insert_ignore
from storage.teams import TeamView, team_view, update_team_settings
from storage.us_holidays import us_federal_holiday, us_federal_holidays

DEFAULT_WORKDAYS = frozenset({0, 1, 2, 3, 4})  # Monday..Friday
WORKDAYS_SETTING = "working_days"  # teams.settings: a list of weekday numbers, Monday=0
US_FEDERAL_SETTING = "us_federal_holidays"  # teams.settings: true when the team follows them
FEDERAL_YEARS = range(2000, 2100)  # iterating a calendar lists the federal days of these years


@dataclass(frozen=True)
class Holidays(Mapping[date, str]):
    """A team's holidays -> name: its own days, and the US federal ones when `federal`. Looking a day up
    works for any year; iterating yields the own days and the federal days of FEDERAL_YEARS, in order."""

    own: Mapping[date, str] = field(default_factory=dict)
    federal: bool = False

    def __getitem__(self, day: date) -> str:
        name = self.own.get(day)
        if name is None and self.federal:
            name = us_federal_holiday(day)
        if name is None:
            raise KeyError(day)
        return name

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and (
            day in self.own or (self.federal and us_federal_holiday(day) is not None)
        )

    def __iter__(self) -> Iterator[date]:
        days = set(self.own)
        if self.federal:
            for year in FEDERAL_YEARS:
                days.update(us_federal_holidays(year))
        return iter(sorted(days))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def between(self, first: date, last: date) -> list[tuple[date, str]]:
        """The holidays from `first` to `last` inclusive, in date order."""
        days = {d: n for d, n in self.own.items() if first <= d <= last}
        if self.federal:
            for year in range(first.year, last.year + 1):
                for d, n in us_federal_holidays(year).items():
                    if first <= d <= last:
                        days.setdefault(d, n)
        return sorted(days.items())


@dataclass(frozen=True)
class TeamCalendar:
    team_id: int
    timezone: str  # the team's IANA zone
    workdays: frozenset[int]  # weekday numbers, Monday=0; default {0,1,2,3,4}
    holidays: Mapping[date, str]  # team holidays (incl. the US federal ones when the team opted in) -> name


def known_zone(name: str | None) -> bool:
    """True when `name` is an IANA zone this server knows."""
    if not name or name != name.strip() or name.startswith("/") or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def workdays_of(settings: Mapping[str, object] | None) -> frozenset[int]:
    raw = (settings or {}).get(WORKDAYS_SETTING)
    if isinstance(raw, list) and raw and all(isinstance(d, int) and 0 <= d <= 6 for d in raw):
        return frozenset(raw)
    return DEFAULT_WORKDAYS


async def own_holidays(session: AsyncSession, team_id: int) -> dict[date, str]:
    """The team's own holidays (not the built-in ones), in date order."""
    stmt = select(TeamHoliday.day, TeamHoliday.name).where(TeamHoliday.team_id == team_id)
    return dict(sorted((day, name) for day, name in (await session.execute(stmt)).all()))


async def team_calendar(session: AsyncSession, team_id: int) -> TeamCalendar:
    team = await session.get(Team, team_id)
    if team is None:
        raise LookupError(f"no team {team_id}")
    return await calendar_of(session, team_view(team))


async def calendar_of(session: AsyncSession, team: TeamView) -> TeamCalendar:
    """The calendar of a team already read (its zone and settings are in hand: only its holidays are
    queried)."""
    return TeamCalendar(
        team_id=team.id,
        timezone=team.timezone,
        workdays=workdays_of(team.settings),
        holidays=Holidays(await own_holidays(session, team.id), bool(team.settings.get(US_FEDERAL_SETTING))),
    )


async def away_ranges(session: AsyncSession, team_id: int) -> dict[int, tuple[tuple[date, date], ...]]:
    """person_id -> the inclusive ranges of days they are away from this team, in order."""
    stmt = (
        select(PersonAway.person_id, PersonAway.first_day, PersonAway.last_day)
        .where(PersonAway.team_id == team_id)
        .order_by(PersonAway.person_id, PersonAway.first_day, PersonAway.last_day)
    )
    out: dict[int, list[tuple[date, date]]] = {}
    for person_id, first, last in (await session.execute(stmt)).all():
        out.setdefault(person_id, []).append((first, last))
    return {person_id: tuple(ranges) for person_id, ranges in out.items()}


async def person_zones(session: AsyncSession, team_id: int) -> dict[int, str]:
    """person_id -> their own IANA zone when known, else the team's, for every member of the team."""
    stmt = (
        select(Membership.person_id, Person.timezone, Team.timezone)
        .join(Person, Person.id == Membership.person_id)
        .join(Team, Team.id == Membership.team_id)
        .where(Membership.team_id == team_id)
    )
    return {
        person_id: own if own is not None and known_zone(own) else team_zone
        for person_id, own, team_zone in (await session.execute(stmt)).all()
    }


async def set_person_timezone(session: AsyncSession, person_id: int, zone: str) -> None:
    """Record a person's IANA zone (from Slack users.info `tz`, Teams clientInfo `timezone`); a zone this
    server does not know is ignored, never stored."""
    if not known_zone(zone):
        return
    person = await session.get(Person, person_id)
    if person is not None and person.timezone != zone:
        person.timezone = zone
        await session.flush()


async def set_identity_timezone(session: AsyncSession, platform: str, user_id: str, zone: str) -> bool:
    """The zone a platform reports for one of its users, onto the person with that identity; False when
    nobody has that identity (or the zone is unknown: never stored)."""
    if not known_zone(zone) or not user_id:
        return False
    person_id = (
        await session.execute(
            select(Identity.person_id)
            .where(Identity.platform == platform, Identity.user_id == user_id)
            .limit(1)
        )
    ).scalar_one_or_none()
    if person_id is None:
        return False
    await set_person_timezone(session, person_id, zone)
    return True


# ---------------------------------------------------------------- writing the calendar


async def add_holiday(session: AsyncSession, team_id: int, day: date, name: str) -> bool:
    """Add a team holiday; False when the team already has one that day (it is left as it was)."""
    return await insert_ignore(session, TeamHoliday, {"team_id": team_id, "day": day, "name": name})


async def remove_holiday(session: AsyncSession, team_id: int, day: date) -> bool:
    """Remove the team's own holiday on `day`; False when it had none."""
    result = await session.execute(
        delete(TeamHoliday).where(TeamHoliday.team_id == team_id, TeamHoliday.day == day)
    )
    return bool(getattr(result, "rowcount", 0))


async def replace_holidays(session: AsyncSession, team_id: int, days: Mapping[date, str]) -> None:
    """The team's own holidays become exactly `days` (a team file import)."""
    await session.execute(delete(TeamHoliday).where(TeamHoliday.team_id == team_id))
    for day, name in sorted(days.items()):
        session.add(TeamHoliday(team_id=team_id, day=day, name=name))
    await session.flush()


async def set_team_calendar_settings(
    session: AsyncSession,
    team_id: int,
    *,
    us_federal: bool | None = None,
    workdays: frozenset[int] | None = None,
) -> None:
    """Turn the built-in US federal holidays on or off and/or set the working days (None: unchanged)."""
    changes: dict[str, object] = {}
    if us_federal is not None:
        changes[US_FEDERAL_SETTING] = us_federal
    if workdays is not None:
        changes[WORKDAYS_SETTING] = sorted(workdays)
    await update_team_settings(session, team_id, changes)


async def add_away(session: AsyncSession, team_id: int, person_id: int, first: date, last: date) -> None:
    if first > last:
        raise ValueError("an away range ends before it starts")
    session.add(PersonAway(team_id=team_id, person_id=person_id, first_day=first, last_day=last))
    await session.flush()


async def clear_away(session: AsyncSession, team_id: int, person_id: int) -> int:
    """Forget every away range of this person in this team; how many there were."""
    result = await session.execute(
        delete(PersonAway).where(PersonAway.team_id == team_id, PersonAway.person_id == person_id)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# ---------------------------------------------------------------- one occurrence skipped or moved


async def schedule_exceptions(session: AsyncSession, schedule_id: int) -> dict[str, str | None]:
    """occurrence_local -> moved_to_local (None: skipped) for one schedule."""
    return (await exceptions_of_schedules(session, [schedule_id])).get(schedule_id, {})


async def exceptions_of_schedules(
    session: AsyncSession, schedule_ids: Sequence[int]
) -> dict[int, dict[str, str | None]]:
    """schedule_exceptions for many schedules in one query (the ticker's batch): schedule id ->
    occurrence_local -> moved_to_local; a schedule with none is absent."""
    if not schedule_ids:
        return {}
    stmt = select(
        ScheduleException.schedule_id, ScheduleException.occurrence_local, ScheduleException.moved_to_local
    ).where(ScheduleException.schedule_id.in_(list(schedule_ids)))
    out: dict[int, dict[str, str | None]] = {}
    for schedule_id, occurrence, moved in (await session.execute(stmt)).all():
        out.setdefault(schedule_id, {})[occurrence] = moved
    return out


async def set_schedule_exception(
    session: AsyncSession,
    schedule_id: int,
    occurrence_local: str,
    moved_to_local: str | None,
    by: int | None,
    now: datetime,
) -> None:
    """Skip one occurrence (`moved_to_local` None) or move it; replaces an earlier exception for it."""
    await session.execute(
        delete(ScheduleException).where(
            ScheduleException.schedule_id == schedule_id,
            ScheduleException.occurrence_local == occurrence_local,
        )
    )
    session.add(
        ScheduleException(
            schedule_id=schedule_id,
            occurrence_local=occurrence_local,
            moved_to_local=moved_to_local,
            set_by=by,
            set_at=now,
        )
    )
    await session.flush()

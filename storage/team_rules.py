"""What a pass over many teams needs to know about each, in a handful of queries whatever their number:
the team, its calendar, its members (in the team's order) with their zones and away days, and one flow
state of the caller's choosing (a policy, a setting).

The batch form of the team-calendar contract (storage/calendar.py: `calendar_of`, `person_zones`,
`away_ranges`) and of `teams.members`, read with the same rules. Used by the action-item reminder pass
(flows/actions/reminders.py) and by check-in runs prepared many at once (flows/checkins/runs.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.calendar import US_FEDERAL_SETTING, Holidays, TeamCalendar, known_zone, workdays_of
from storage.calendar_models import PersonAway, TeamHoliday
from storage.models import FlowState, Membership, Person, Team
from storage.teams import MemberView, TeamView, team_view


@dataclass(frozen=True)
class TeamRules:
    team: TeamView
    calendar: TeamCalendar
    policy: dict[str, Any]  # the flow state asked for (rules_for's `flow`, `key`); {} when none is saved
    zones: dict[int, str] = field(default_factory=dict)  # member -> their zone, else the team's
    away: dict[int, tuple[tuple[date, date], ...]] = field(default_factory=dict)
    members: dict[int, MemberView] = field(default_factory=dict)  # in the team's order (teams.members)

    @property
    def team_id(self) -> int:
        return self.team.id

    @property
    def name(self) -> str:
        return self.team.name

    @property
    def timezone(self) -> str:
        return self.team.timezone

    @property
    def language(self) -> str:
        return self.team.language


async def rules_for(
    session: AsyncSession, team_ids: Sequence[int], flow: str, key: str
) -> dict[int, TeamRules]:
    """team id -> its rules, for each of `team_ids` that exists (`policy`: its flow state `flow`, `key`)."""
    ids = sorted(set(team_ids))
    if not ids:
        return {}
    teams = (await session.execute(select(Team).where(Team.id.in_(ids)))).scalars().all()
    own: dict[int, dict[date, str]] = {}
    holidays = select(TeamHoliday.team_id, TeamHoliday.day, TeamHoliday.name).where(
        TeamHoliday.team_id.in_(ids)
    )
    for team_id, day, name in (await session.execute(holidays.order_by(TeamHoliday.day))).all():
        own.setdefault(team_id, {})[day] = name
    policies = select(FlowState.team_id, FlowState.data).where(
        FlowState.flow == flow, FlowState.key == key, FlowState.team_id.in_(ids)
    )
    policy = {team_id: dict(data or {}) for team_id, data in (await session.execute(policies)).all()}
    away: dict[int, dict[int, list[tuple[date, date]]]] = {}
    ranges = select(
        PersonAway.team_id, PersonAway.person_id, PersonAway.first_day, PersonAway.last_day
    ).where(PersonAway.team_id.in_(ids))
    for team_id, person_id, first, last in (
        await session.execute(ranges.order_by(PersonAway.first_day, PersonAway.last_day))
    ).all():
        away.setdefault(team_id, {}).setdefault(person_id, []).append((first, last))
    people = (
        select(
            Membership.team_id,
            Membership.person_id,
            func.coalesce(Membership.display_name, Person.display_name),
            Membership.side,
            Membership.co_chair,
            Membership.position,
            Person.language,
            Person.timezone,
        )
        .join(Person, Person.id == Membership.person_id)
        .where(Membership.team_id.in_(ids))
        .order_by(Membership.team_id, Membership.position, Membership.id)
    )
    members: dict[int, dict[int, MemberView]] = {}
    zones: dict[int, dict[int, str | None]] = {}
    for team_id, person_id, name, side, co_chair, position, language, zone in (
        await session.execute(people)
    ).all():
        members.setdefault(team_id, {})[person_id] = MemberView(
            person_id, name, side, co_chair, position, language
        )
        zones.setdefault(team_id, {})[person_id] = zone
    out: dict[int, TeamRules] = {}
    for team in teams:
        settings = team.settings or {}
        calendar = TeamCalendar(
            team_id=team.id,
            timezone=team.timezone,
            workdays=workdays_of(settings),
            holidays=Holidays(own.get(team.id, {}), bool(settings.get(US_FEDERAL_SETTING))),
        )
        out[team.id] = TeamRules(
            team=team_view(team),
            calendar=calendar,
            policy=policy.get(team.id, {}),
            zones={
                pid: zone if zone is not None and known_zone(zone) else team.timezone
                for pid, zone in zones.get(team.id, {}).items()
            },
            away={pid: tuple(r) for pid, r in away.get(team.id, {}).items()},
            members=members.get(team.id, {}),
        )
    return out

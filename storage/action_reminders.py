"""What the reminder pass needs to know about many teams at once, in a handful of queries.

The batch form of the team-calendar contract (storage/calendar.py: `team_calendar`, `person_zones`,
`away_ranges`, read with the same rules) plus each team's reminder policy and its members' languages:
one pass over a few hundred items on as many teams costs nine queries, not six per team.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.action_models import ActionItem
from storage.calendar import US_FEDERAL_SETTING, Holidays, TeamCalendar, known_zone, workdays_of
from storage.calendar_models import PersonAway, TeamHoliday
from storage.models import FlowState, Membership, Person, Team
from storage.teams import MemberView


@dataclass(frozen=True)
class TeamRules:
    team_id: int
    name: str
    timezone: str
    language: str | None
    calendar: TeamCalendar
    policy: dict[str, Any]  # the flow's saved policy (flow_state "actions"/"policy"); {} for the defaults
    zones: dict[int, str] = field(default_factory=dict)  # member -> their zone, else the team's
    away: dict[int, tuple[tuple[date, date], ...]] = field(default_factory=dict)
    members: dict[int, MemberView] = field(default_factory=dict)


async def rules_for(
    session: AsyncSession, team_ids: Sequence[int], flow: str, policy_key: str
) -> dict[int, TeamRules]:
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
        FlowState.flow == flow, FlowState.key == policy_key, FlowState.team_id.in_(ids)
    )
    policy = {team_id: dict(data or {}) for team_id, data in (await session.execute(policies)).all()}
    away: dict[int, dict[int, list[tuple[date, date]]]] = {}
    ranges = select(
        PersonAway.team_id, PersonAway.person_id, PersonAway.first_day, PersonAway.last_day
    ).where(PersonAway.team_id.in_(ids))
    for team_id, person_id, first, last in (
        await session.execute(ranges.order_by(PersonAway.first_day))
    ).all():
        away.setdefault(team_id, {}).setdefault(person_id, []).append((first, last))
    people = (
        select(
            Membership.team_id,
            Membership.person_id,
            Person.display_name,
            Membership.side,
            Membership.co_chair,
            Membership.position,
            Person.language,
            Person.timezone,
        )
        .join(Person, Person.id == Membership.person_id)
        .where(Membership.team_id.in_(ids))
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
            team_id=team.id,
            name=team.name,
            timezone=team.timezone,
            language=team.language,
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


_NEXT = (
    update(ActionItem).where(ActionItem.id == bindparam("item_id")).values(next_remind_at=bindparam("when"))
)


async def set_next_reminds(session: AsyncSession, pairs: Sequence[tuple[int, datetime | None]]) -> None:
    """Each item's next reminder decision time, in one statement for the whole pass."""
    if pairs:
        connection = await session.connection()
        await connection.execute(_NEXT, [{"item_id": i, "when": w} for i, w in pairs])

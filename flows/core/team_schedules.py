"""A team's recurring schedules, which the team file sets and the flows run: the meeting (the reminder with
norms and roles, flows/meetings) and the quarterly poll (flows/pulse). Kept here, apart from both flows,
because the team file (flows/setup), the home view and the flows all read or write them.

`set_team_schedule` is the one place that turns an RRULE and a local start into the stored schedule with
its next occurrence (keyed by local wall-clock time) and fire time.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flows.core.occurrences import NEXT_WORKING_DAY, SKIP
from flows.core.recurrence import Recurrence, from_key, to_key, utc_to_local, zone
from storage import schedules
from storage.schedules import ScheduleView
from storage.teams import TeamView


async def set_team_schedule(
    session: AsyncSession,
    team: TeamView,
    *,
    kind: str,
    rrule: str,
    start: datetime,
    settings: dict[str, Any],
    now: datetime,
    lead: timedelta = timedelta(0),
) -> ScheduleView:
    """Create or replace the team's one schedule of `kind`, in the team's zone, due next after `now`."""
    recurrence = Recurrence(rrule, start, team.timezone, lead=lead)
    following = recurrence.first_firing_after(now)
    return await schedules.upsert_for_team(
        session,
        team_id=team.id,
        kind=kind,
        rrule=rrule,
        dtstart_local=to_key(start),
        timezone=team.timezone,
        settings=settings,
        next_occurrence_local=to_key(following) if following else None,
        next_fire_at=recurrence.fire_at(following) if following else None,
        now=now,
    )


def recurrence_of(schedule: ScheduleView) -> Recurrence:
    """A stored schedule's recurrence: its rule from its first local occurrence, in its zone, fired its
    `lead_minutes` early (a meeting's reminder)."""
    return Recurrence(
        schedule.rrule,
        from_key(schedule.dtstart_local),
        schedule.timezone,
        lead=timedelta(minutes=int(schedule.settings.get("lead_minutes", 0))),
    )


# ---------------------------------------------------------------- the meeting

MEETING_KIND = "meeting"
# A meeting's roles can still be passed (and its card is still "current") this long after it starts.
PASS_WINDOW_AFTER_START = timedelta(hours=1)
# A team set up in chat has no meeting schedule until someone who runs Tandem imports its team file.
NO_MEETING = "schedule.no_meeting"  # the catalog key of "no meeting scheduled"


async def set_meeting_schedule(
    session: AsyncSession, team: TeamView, rrule: str, start: datetime, lead_minutes: int, now: datetime
) -> None:
    await set_team_schedule(
        session,
        team,
        kind=MEETING_KIND,
        rrule=rrule,
        start=start,
        settings={"lead_minutes": lead_minutes, "misfire_grace_minutes": max(lead_minutes, 5)},
        now=now,
        lead=timedelta(minutes=lead_minutes),
    )


# ---------------------------------------------------------------- the quarterly poll
# Quarterly means "the same weekday of the month every three months" (the second Monday, say), at 9 AM
# wall-clock in the team's zone, so a poll never opens on a weekend and keeps 9 AM across DST changes.

QUARTERLY_KIND = "pulse.quarterly"  # opens a poll every quarter, in the team's zone
OPENS_AT = time(9, 0)
QUARTER_MONTHS = (1, 4, 7, 10)
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def quarterly_rule(first: date) -> str:
    """Every three months on `first`'s weekday-of-month: the 2nd Monday stays the 2nd Monday (the 5th of a
    weekday becomes the last one, which every month has)."""
    nth = (first.day - 1) // 7 + 1
    return f"FREQ=MONTHLY;INTERVAL=3;BYDAY={-1 if nth == 5 else nth}{WEEKDAYS[first.weekday()]}"


def default_first(now: datetime, timezone: str) -> date:
    """The second Monday of the next calendar quarter (January, April, July, October)."""
    today = utc_to_local(now, zone(timezone)).date()
    year, month = today.year, next((m for m in QUARTER_MONTHS if m > today.month), 13)
    if month == 13:
        year, month = year + 1, 1
    eighth = date(year, month, 8)
    return date(year, month, 8 + (0 - eighth.weekday()) % 7)


async def set_quarterly_schedule(
    session: AsyncSession, team: TeamView, first: date, instrument_id: str, now: datetime
) -> ScheduleView:
    """Open `instrument_id` every quarter from `first` (its weekday of the month), 9 AM in the team's zone."""
    start = datetime.combine(first, OPENS_AT)
    rule = quarterly_rule(first)
    return await set_team_schedule(
        session,
        team,
        kind=QUARTERLY_KIND,
        rrule=rule,
        start=start,
        settings={"instrument": instrument_id, "misfire_grace_minutes": 24 * 60},
        now=now,
    )


# What a team holiday does to each kind of schedule unless its settings say (`on_holiday`,
# flows/core/occurrences.py): a meeting on a holiday does not happen; a quarterly poll opens the next working
# day. Every other kind runs on holidays unless it says otherwise (upkeep such as closing polls must).
HOLIDAY_DEFAULTS = {MEETING_KIND: SKIP, QUARTERLY_KIND: NEXT_WORKING_DAY}

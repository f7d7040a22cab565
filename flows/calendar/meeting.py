"""Skipping or moving one meeting: an exception on the team's meeting schedule (flows/core/occurrences.py),
which the engine honours when the reminder would fire."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flows.calendar.dates import Refusal
from flows.core.engine import FlowContext
from flows.core.formatting import meeting_time
from flows.core.home import refresh_homes
from flows.core.occurrences import Occurrences
from flows.core.recurrence import from_key, to_key
from flows.core.team_schedules import MEETING_KIND, recurrence_of
from storage import calendar as store
from storage import schedules
from storage.teams import TeamView


@dataclass(frozen=True)
class Change:
    meeting: str  # the meeting's key as its rule made it
    moved_to: str | None  # its new key, None: skipped
    when: str  # the meeting as people read it
    to_when: str  # its new time as people read it ("" when skipped)


async def skip_or_move(ctx: FlowContext, team: TeamView, day: date, to_day: date | None, by: int) -> Change:
    """Skip the team's meeting on `day`, or move it to `to_day` at the same local time; Refusal otherwise."""
    found = await schedules.for_team(ctx.session, team.id, MEETING_KIND)
    if not found or not found[0].enabled:
        raise Refusal("calendar.no_meeting_schedule")
    schedule = found[0]
    recurrence = recurrence_of(schedule)
    occurrences = Occurrences(recurrence, await store.schedule_exceptions(ctx.session, schedule.id))
    start = datetime.combine(day, time(0, 0))
    on_day = occurrences.between(start, start + timedelta(days=1), limit=1)
    if not on_day:
        raise Refusal("calendar.no_meeting_that_day", (("day", day.isoformat()),))
    meeting = on_day[0]
    if occurrences.fire_at(meeting) <= ctx.now:
        raise Refusal("calendar.meeting_already_reminded", (("when", meeting_time(meeting, team.timezone)),))
    original = occurrences.original_of(meeting)
    new = datetime.combine(to_day, meeting.time()) if to_day is not None else None
    if new is not None:
        if new == meeting:
            raise Refusal("calendar.move_same_day", (("day", day.isoformat()),))
        if occurrences.fire_at(new) <= ctx.now:
            raise Refusal("calendar.move_too_late", (("when", meeting_time(new, team.timezone)),))
        if occurrences.between(new, new + timedelta(seconds=1), limit=1):
            raise Refusal("calendar.meeting_already_then", (("when", meeting_time(new, team.timezone)),))
    await store.set_schedule_exception(
        ctx.session, schedule.id, to_key(original), to_key(new) if new else None, by, ctx.now
    )
    occurrences.moved.pop(meeting, None)
    occurrences.move(original, new)
    # The schedule's next occurrence (what the engine wakes for, what the home view and `team` show): past a
    # skipped one, and no later than a meeting moved earlier. Going back to one already run is harmless:
    # its claim (storage/schedules.py) keeps it from running twice.
    cursor = from_key(schedule.next_occurrence_local) if schedule.next_occurrence_local else None
    if cursor is not None and cursor in occurrences.removed and not occurrences.is_moved(cursor):
        cursor = occurrences.first_after(cursor)
    following = occurrences.first_firing_after(ctx.now)
    if following is not None and (cursor is None or following < cursor):
        cursor = following
    await schedules.advance(
        ctx.session,
        schedule.id,
        to_key(cursor) if cursor else None,
        occurrences.fire_at(cursor) if cursor else None,
        ctx.now,
    )
    await refresh_homes(ctx, team.id)
    return Change(
        meeting=to_key(original),
        moved_to=to_key(new) if new else None,
        when=meeting_time(meeting, team.timezone),
        to_when=meeting_time(new, team.timezone) if new else "",
    )

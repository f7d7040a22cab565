"""Putting a team's recurring schedule in the database: one place that turns an RRULE and a local start into
the stored schedule with its next occurrence (keyed by local wall-clock time) and fire time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flows.core.recurrence import Recurrence, to_key
from storage import schedules
from storage.models import Schedule, Team


async def set_team_schedule(
    session: AsyncSession,
    team: Team,
    *,
    kind: str,
    rrule: str,
    start: datetime,
    settings: dict[str, Any],
    now: datetime,
    lead: timedelta = timedelta(0),
) -> Schedule:
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

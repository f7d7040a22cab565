"""Helpers for the check-in tests: a team with a check-in schedule, the clock stepped to given instants,
and the transcript read by person and channel."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from storage import checkins
from storage.checkin_models import CheckinRun
from tests.conftest import Stack, team_spec

# Monday 26 October 2026: the week before the US fall-back (Sunday 1 November, 2 AM).
FIRST_DAY = "2026-10-26"
BEFORE = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)  # a Saturday, before the first run is prepared


def checkin_spec(**checkins_fields: Any) -> dict[str, Any]:
    """The test team (Los Angeles), checking in every Monday at 9:00 from 26 October, no meeting."""
    section: dict[str, Any] = {"every": "FREQ=WEEKLY;BYDAY=MO", "start": FIRST_DAY, "at": "09:00"}
    section.update(checkins_fields)
    return team_spec(meeting=None, checkins=section)


async def set_up(
    stack: Stack, spec: dict[str, Any] | None = None, ny: tuple[str, ...] = ("ben", "di")
) -> int:
    """Import the team at BEFORE; the people in `ny` say they are in New York (`checkin zone`)."""
    stack.clock.set(BEFORE)
    team = await stack.import_team(spec or checkin_spec())
    for user in ny:
        await stack.local.command(user, "checkin zone America/New_York")
    await stack.worker.drain()
    return team.id


def dms(stack: Stack, user: str, containing: str = "") -> list[str]:
    return [e.text for e in stack.local.transcript if e.target.get("user") == user and containing in e.text]


def invitations(stack: Stack, user: str) -> list[str]:
    return dms(stack, user, "Time for")


def channel(stack: Stack, address: str = "team-channel") -> list[Any]:
    return [
        e
        for e in stack.local.transcript
        if e.target.get("address") == address and "user" not in e.target and not e.target.get("private_to")
    ]


async def runs(stack: Stack, team_id: int) -> list[checkins.Run]:
    async with stack.sessions() as session:
        return await checkins.runs_of_team(session, team_id)


async def answer(stack: Stack, user: str, run_id: int, values: dict[str, str]) -> None:
    await stack.local.click(user, "checkin.answer", str(run_id))
    form = stack.local.last_form
    assert form is not None, stack.local.transcript[-1].text if stack.local.transcript else "no form"
    await stack.local.submit(user, form, values)
    await stack.worker.drain()


__all__ = ["CheckinRun"]

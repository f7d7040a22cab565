"""The action-items part of `tandem demo`: promises captured during a meeting, the wrap-up, a reminder, an
overdue nudge, completion (celebrated in the channel) and the team's follow-through rate."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta

from adapters.local import LocalAdapter
from bot.runtime import Runtime
from flows.core.clock import ManualClock
from flows.core.recurrence import zone
from storage import action_items, schedules, teams


async def _at(runtime: Runtime, clock: ManualClock, when: datetime) -> None:
    clock.set(when)
    await runtime.engine.tick()
    await runtime.worker.drain()


async def run_actions(
    runtime: Runtime,
    local: LocalAdapter,
    clock: ManualClock,
    out: Callable[[str], None],
    team_name: str,
    channel: str,
) -> None:
    """Starts while a meeting is under way (its roles announced); moves the clock about three weeks on."""
    tz = zone(await _team_zone(runtime, team_name))
    meeting = clock.now().astimezone(tz)
    clock.set(meeting + timedelta(minutes=45))
    out("\n=== Action items: promises made during the meeting ===")
    out('\n>>> Maria types in the channel: action "Draft the survey to staff" @aisha @tom due in 2 weeks')
    await local.command(
        "maria",
        'action "Draft the survey to staff" @0 @1 due in 2 weeks',
        channel=channel,
        mentions=["aisha", "tom"],
    )
    out('\n>>> David types: action "Share the budget timeline with staff" @kevin due tuesday')
    await local.command(
        "david",
        'action "Share the budget timeline with staff" @0 due tuesday',
        channel=channel,
        mentions=["kevin"],
    )
    await runtime.worker.drain()
    out("\n>>> Before the meeting ends, Maria types: wrapup")
    await local.command("maria", "wrapup", channel=channel)
    await runtime.worker.drain()
    async with runtime.sessions() as session:
        team = await teams.team_by_name(session, team_name)
        assert team is not None
        team_id = team.id
    survey, budget = await _two(runtime, team_id)
    out("\n>>> Aisha and Kevin each click “Confirm it's mine”")
    await local.click("aisha", "actions.confirm", str(survey.id), channel=channel)
    await local.click("kevin", "actions.confirm", str(budget.id), channel=channel)
    await runtime.worker.drain()

    day = meeting.date()
    out(
        "\n=== Reminders: private, at 9:00 each owner's time, two working days before and on the due date ==="
    )
    for offset in range(1, 16):
        today = day + timedelta(days=offset)
        await _at(runtime, clock, datetime.combine(today, time(9), tz))
        meeting_at = await _next_meeting(runtime, team_id)
        if meeting_at is not None and meeting_at.astimezone(tz).date() == today:
            await _at(runtime, clock, meeting_at)
        if today == survey.due:
            out("\n>>> Aisha types: actions done <number> 41 staff answered")
            await local.command("aisha", f"actions done {survey.id} 41 staff answered")
            await runtime.worker.drain()
        if today == budget.due + timedelta(days=8):
            out("\n>>> After the overdue nudge, Kevin finishes it and clicks Done")
            await local.click("kevin", "actions.done", str(budget.id))
            await runtime.worker.drain()
            break
    out("\n>>> Maria types: actions stats")
    await local.command("maria", "actions stats")
    await runtime.worker.drain()


async def _team_zone(runtime: Runtime, team_name: str) -> str:
    async with runtime.sessions() as session:
        team = await teams.team_by_name(session, team_name)
        assert team is not None
        return team.timezone


async def _two(runtime: Runtime, team_id: int) -> tuple[action_items.ItemView, action_items.ItemView]:
    async with runtime.sessions() as session:
        items = await action_items.all_items(session, team_id)
    return items[0], items[1]


async def _next_meeting(runtime: Runtime, team_id: int) -> datetime | None:
    async with runtime.sessions() as session:
        meeting = await schedules.for_team(session, team_id, "meeting")
    return meeting[0].next_fire_at if meeting else None

"""`tandem demo`, the check-in round: a co-chair turns on the team's check-in from chat, one member works
from New York, one is away; each person is asked at 9:00 in their own zone, answers come in (one is
changed), a private reminder goes to those who have not answered, and the digest is posted at close.

bot/demo.py calls `run_checkin_round(runtime, local, clock, out, team_name)` after the trust poll (the team
must already be imported, with co-chair `maria`, member `david` and member `tom`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from adapters.local import LocalAdapter
from bot.runtime import Runtime
from flows.core.clock import ManualClock
from flows.core.recurrence import utc_to_local, zone
from storage import calendar, checkins, teams

ANSWERS: dict[str, dict[str, str]] = {
    "david": {"q1": "Budget week, but good.", "q2": "A shorter agenda on Tuesday.", "mood": "4"},
    "aisha": {"q1": "Tired after conferences.", "mood": "3"},
    "rosa": {"q1": "Good: the new schedule works.", "q2": "Clearer notes from meetings.", "mood": "4"},
    "kevin": {"q2": "Time to read the proposal before we vote.", "mood": "4"},
    "linda": {"q1": "Steady.", "mood": "5"},
}


async def _tick_to(runtime: Runtime, clock: ManualClock, when: datetime) -> None:
    clock.set(when)
    await runtime.engine.tick()
    await runtime.worker.drain()


async def run_checkin_round(
    runtime: Runtime, local: LocalAdapter, clock: ManualClock, out: Callable[[str], None], team_name: str
) -> None:
    async with runtime.sessions() as session:
        team = await teams.team_by_name(session, team_name)
    assert team is not None
    today = utc_to_local(clock.now(), zone(team.timezone)).date()
    monday = today + timedelta(days=7 - today.weekday())
    out("\n=== Check-ins: every other Monday, at 9:00 in each person's own time zone ===")
    out(f">>> Maria (labor co-chair) types: checkin schedule FREQ=WEEKLY;INTERVAL=2;BYDAY=MO 09:00 {monday}")
    await local.command("maria", f"checkin schedule FREQ=WEEKLY;INTERVAL=2;BYDAY=MO 09:00 {monday}")
    out(">>> Maria types: checkin mood on")
    await local.command("maria", "checkin mood on")
    out(">>> David, who works from New York this term, types: checkin zone America/New_York")
    await local.command("david", "checkin zone America/New_York")
    await runtime.worker.drain()
    out(f">>> Tom is away {monday - timedelta(days=3)} to {monday + timedelta(days=4)} (his away days)")
    async with runtime.sessions() as session, session.begin():
        tom = await teams.person_by_identity(session, "local", "tom")
        assert tom is not None
        await calendar.add_away(
            session, team.id, tom.id, monday - timedelta(days=3), monday + timedelta(days=4)
        )
    nine_la = datetime.combine(monday, datetime.min.time()).replace(hour=9, tzinfo=zone(team.timezone))
    nine_ny = datetime.combine(monday, datetime.min.time()).replace(hour=9, tzinfo=zone("America/New_York"))
    await _tick_to(runtime, clock, nine_la - timedelta(hours=26))  # the run is prepared a day ahead
    out("\n=== 9:00 in New York (6:00 in Los Angeles): David is asked first ===")
    await _tick_to(runtime, clock, nine_ny)
    out("\n=== 9:00 in Los Angeles: the others are asked; Tom, away, is not ===")
    await _tick_to(runtime, clock, nine_la)
    async with runtime.sessions() as session:
        run = (await checkins.runs_of_team(session, team.id))[-1]
    for n, (user, values) in enumerate(ANSWERS.items()):
        if n == 0:
            out(f"\n>>> {user.title()} presses Check in, fills in the one form and sends it")
        await local.click(user, "checkin.answer", str(run.id))
        if local.last_form is not None:
            await local.submit(user, local.last_form, values)
        await runtime.worker.drain()
    out("\n>>> Aisha changes her answer before the check-in closes")
    await local.click("aisha", "checkin.answer", str(run.id))
    if local.last_form is not None:
        await local.submit("aisha", local.last_form, {"q1": "Better after a quiet evening.", "mood": "4"})
    await runtime.worker.drain()
    if run.remind_at is not None:
        out("\n=== A day before close: one private reminder to those who have not answered (counts only) ===")
        await _tick_to(runtime, clock, run.remind_at)
    out("\n=== The window closes: the digest goes to the team's channel ===")
    await _tick_to(runtime, clock, run.closes_at)
    assert date.fromisoformat(run.run_day) == monday

"""`tandem demo`: a scripted team on the local adapter, in a throw-away database, with a moving clock.

Everything goes through the real engine, outbox, delivery worker and scheduler tick; only the clock is
moved by hand so three meetings pass in a second.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from adapters.local import LocalAdapter, TranscriptEntry
from bot.demo_actions import run_actions
from bot.demo_checkins import run_checkin_round
from bot.demo_points import run_talking_points
from bot.demo_pulse import run_pulse_quarter
from bot.runtime import Runtime
from bot.settings import Settings
from flows.core.clock import ManualClock
from flows.core.recurrence import zone
from flows.setup.team_file import import_team, parse_team_file
from storage import schedules, teams

TZ = "America/Los_Angeles"
CHANNEL = "riverside-solutions"

DEMO_TEAM: dict[str, Any] = {
    "name": "Riverside Solutions Team",
    "timezone": TZ,
    "norms": "seven-norms",
    "channels": [{"platform": "local", "id": CHANNEL, "name": "#riverside-solutions"}],
    # 2nd and 4th Tuesday at 4 PM: cron can't say this, an RRULE can. The three meetings below straddle
    # the end of daylight saving time (1 November 2026) and stay at 4 PM local.
    "meeting": {
        "rrule": "FREQ=MONTHLY;BYDAY=2TU,4TU",
        "start": "2026-09-08T16:00:00",
        "reminder_minutes_before": 30,
    },
    "members": [
        {"name": "Maria Lopez", "side": "labor", "co_chair": True, "local": "maria"},
        {"name": "David Chen", "side": "management", "co_chair": True, "local": "david"},
        {"name": "Aisha Johnson", "side": "labor", "local": "aisha"},
        {"name": "Tom Becker", "side": "labor", "local": "tom"},
        {"name": "Rosa Alvarez", "side": "labor", "local": "rosa"},
        {"name": "Kevin Park", "side": "management", "local": "kevin"},
        {"name": "Linda Osei", "side": "management", "local": "linda"},
        {"name": "Sam Rivera", "side": "board", "local": "sam"},
    ],
}


def _print_entry(out: Callable[[str], None], clock: ManualClock) -> Callable[[TranscriptEntry], None]:
    previous: list[str] = []

    def show(entry: TranscriptEntry) -> None:
        if entry.where.startswith("DM to") and previous and previous[-1] == entry.text:
            out(f"── {entry.where}: the same message, privately")
            return
        previous[:] = [entry.text]
        when = clock.now().astimezone(zone(TZ))
        hour = when.strftime("%I").lstrip("0")
        edited = " · the card above, updated in place" if entry.updated else ""
        out(f"\n── {entry.where} · {when:%a} {when.day} {when:%b} {hour}:{when:%M %p %Z}{edited} " + "─" * 8)
        out(entry.text)

    return show


async def run_demo(out: Callable[[str], None] = print, directory: Path | None = None) -> LocalAdapter:
    workdir = Path(directory or tempfile.mkdtemp(prefix="tandem-demo-"))
    settings = Settings(TANDEM_DATABASE_URL=f"sqlite+aiosqlite:///{workdir / 'demo.db'}")
    clock = ManualClock(datetime(2026, 10, 20, 9, 0, tzinfo=zone(TZ)))
    local = LocalAdapter()
    runtime = Runtime(settings, clock=clock, adapters={"local": local})
    local.handle = runtime.engine.handle
    await runtime.start(schedule=False, deliver=False)
    try:
        out("Tandem demo — a labor–management team on the local adapter (no Slack or Teams account needed).")
        out(f"Throw-away database: {workdir / 'demo.db'}")
        async with runtime.sessions() as session, session.begin():
            await import_team(session, parse_team_file(DEMO_TEAM), clock.now())
        out(
            "Team: Riverside Solutions Team — co-chairs Maria Lopez (labor) and David Chen (management), "
            "six members from both sides; meetings on the 2nd and 4th Tuesday at 4 PM Pacific."
        )
        local.listeners.append(_print_entry(out, clock))

        out("\n>>> Aisha (a member) types: help")
        await local.command("aisha", "help")
        await runtime.worker.drain()

        for meeting in range(1, 4):
            async with runtime.sessions() as session:
                team = await teams.team_by_name(session, DEMO_TEAM["name"])
                assert team is not None
                fire_at = (await schedules.for_team(session, team.id, "meeting"))[0].next_fire_at
            assert fire_at is not None
            clock.set(fire_at)
            out(f"\n=== Meeting {meeting}: the clock moves to 30 minutes before it ===")
            await runtime.engine.tick()
            await runtime.worker.drain()
            if meeting == 2:
                holder = await _a_role_holder(runtime, DEMO_TEAM["name"])
                name = next(m["name"] for m in DEMO_TEAM["members"] if m["local"] == holder)
                out(f"\n>>> {name} can't take the note-taker role today and types: pass")
                await local.command(holder, "pass")
                await runtime.worker.drain()
            if meeting == 3:
                await run_actions(runtime, local, clock, out, DEMO_TEAM["name"], CHANNEL)
        await run_pulse_quarter(runtime, local, clock, out, DEMO_TEAM["name"], workdir / "trust-chart.png")
        await run_talking_points(runtime, local, clock, out, DEMO_TEAM)
        await run_checkin_round(runtime, local, clock, out, DEMO_TEAM["name"])
        out(
            "\nThat's the demo: three meetings, each with its norm of focus, rotating roles and an opening "
            "check-in; promises made at a meeting, reminded, kept and counted; a quarter's anonymous trust "
            "poll and its report, with the team's follow-through beside it; joint talking points agreed by "
            "both sides; then a check-in across two time zones. Run `tandem serve` to run the bot for real."
        )
    finally:
        await runtime.stop()
    return local


async def _a_role_holder(runtime: Runtime, team_name: str) -> str:
    """The local user id of the note-taker at the latest meeting (the demo's volunteer to pass)."""
    from storage import roles

    async with runtime.sessions() as session:
        team = await teams.team_by_name(session, team_name)
        assert team is not None
        history = await roles.history(session, team.id)
        note_taker = [r for r in history if r.role == "note_taker"][-1]
        for identity in await teams.identities_of(session, note_taker.person_id):
            if identity.platform == "local":
                return identity.user_id
    raise LookupError("no note-taker")

"""`tandem demo`'s talking-points part: a decision with its level, a draft, one side's approval, an edit
that clears it, both approvals, and the joint post on Slack and on Teams (preview adapters)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from adapters.local import LocalAdapter
from bot.demo_points import run_talking_points
from bot.runtime import Runtime
from bot.settings import Settings
from flows.core.clock import ManualClock
from flows.setup.team_file import import_team, parse_team_file


async def test_the_demo_shows_the_approval_round_and_the_post_on_two_platforms(tmp_path: Path) -> None:
    from bot.demo import DEMO_TEAM, TZ
    from flows.core.recurrence import zone

    settings = Settings(TANDEM_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}")
    clock = ManualClock(datetime(2026, 12, 1, 15, 30, tzinfo=zone(TZ)))
    local = LocalAdapter()
    runtime = Runtime(settings, clock=clock, adapters={"local": local})
    local.handle = runtime.engine.handle
    await runtime.start(schedule=False, deliver=False)
    lines: list[str] = []
    try:
        async with runtime.sessions() as session, session.begin():
            await import_team(session, parse_team_file(DEMO_TEAM), clock.now())
        local.listeners.append(lambda e: lines.append(f"── {e.where}\n{e.text}"))
        await run_talking_points(runtime, local, clock, lines.append, DEMO_TEAM)
    finally:
        await runtime.stop()
    text = "\n".join(lines)
    flat = " ".join(text.split())
    assert (
        "4. JOINT Decision — We will CO-CONSTRUCT this decision. (“MY” = management, “YOUR” = labor)" in flat
    )
    assert "Labor approved by Maria Lopez Management waiting" in flat
    assert "your approval was cleared" in flat
    slack = text.index("── Slack #riverside-staff (Block Kit")
    teams = text.index("── Teams Union members (Adaptive Card")
    label = (
        "Joint talking points — agreed by Maria Lopez (labor) and David Chen (management), 1 December 2026"
    )
    for post in (text[slack:teams], text[teams:]):
        assert label in " ".join(post.replace("\n  · ", " ").split())
    assert text.count("(Block Kit") == 1 and text.count("(Adaptive Card") == 1

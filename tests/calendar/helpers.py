"""Calendar test helpers: saying a command through the local adapter, and reading the calendar back."""

from __future__ import annotations

from storage import calendar
from storage.calendar import TeamCalendar
from tests.conftest import Stack


async def say(stack: Stack, user: str, text: str) -> str:
    """`user` types `text` in a DM; the reply they get (the last message the adapter sent them)."""
    before = len(stack.local.transcript)
    await stack.local.command(user, text)
    await stack.worker.drain()
    mine = [e for e in stack.local.transcript[before:] if e.target.get("address") == f"dm-{user}"]
    assert mine, f"no reply to {user}: {[e.text for e in stack.local.transcript[before:]]}"
    return " ".join(mine[-1].text.split())


def channel_posts(stack: Stack) -> list[str]:
    """What the team channel got, each message on one line."""
    return [
        " ".join(e.text.split()) for e in stack.local.transcript if e.target.get("address") == "team-channel"
    ]


async def read(
    stack: Stack, team_id: int
) -> tuple[TeamCalendar, dict[int, tuple[tuple[object, object], ...]]]:
    async with stack.sessions() as session:
        return await calendar.team_calendar(session, team_id), dict(
            await calendar.away_ranges(session, team_id)
        )

"""`tandem serve`'s local chat page (adapters/local/chat.py): whether it is on, its movable clock, and the
example team it offers on an empty database.

On by default only for a trial: listening on a loopback address with neither Slack nor Teams configured.
`TANDEM_LOCAL_CHAT=on` turns it on anyway (any address; not for production: the page has no sign-in,
anyone who reaches it can act as any member), `off` turns it off.

The clock: in local mode the engine's clock is the real time plus an offset that "Jump to the next
scheduled event" moves forward (never back), kept in the database across restarts. The real ticker and
delivery worker run on it; the jump only moves the offset and ticks once at once.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from flows.core.recurrence import zone
from storage import local_chat
from storage.models import Schedule, Team

OFFSET = "clock_offset_seconds"
EXAMPLE_FILE = Path(__file__).resolve().parent.parent / "examples" / "team.yaml"
HELD = "held"  # not a schedule: messages prepared ahead, waiting in the outbox for their moment
DEFAULT_ZONE = "UTC"
WHAT = {
    "meeting": "the meeting reminder",
    "pulse.daily": "the trust poll's daily check (reminders; the close on its last day)",
    "pulse.forget": "the trust poll's clean-up",
    "pulse.quarterly": "the quarterly trust-poll prompt",
    "checkin.run": "a check-in is prepared (its invitations wait for each person's check-in time)",
    "checkin.remind": "the check-in reminder",
    "checkin.close": "the check-in closes and its digest is posted",
    "actions.digest": "the co-chairs' action-item digest",
    HELD: "messages prepared earlier go out (a check-in's invitations, a reminder)",
}


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def chat_mode(settings: Settings) -> tuple[bool, bool, str]:
    """(on, loopback only, the start-up line)."""
    asked = (settings.local_chat or "").lower()
    url = f"http://{'127.0.0.1' if settings.host in ('0.0.0.0', '::') else settings.host}:{settings.port}/"
    if asked == "on":
        return True, False, f"Open {url} to chat with Tandem (TANDEM_LOCAL_CHAT=on: not for production)."
    if asked == "off":
        return False, True, "Local chat page: off (TANDEM_LOCAL_CHAT=off)."
    if settings.slack_enabled or settings.teams_enabled:
        return False, True, "Local chat page: off while Slack or Teams is configured (TANDEM_LOCAL_CHAT=on)."
    if not _loopback(settings.host):
        return (
            False,
            True,
            (
                f"Local chat page: off on a non-loopback address ({settings.host}); "
                "TANDEM_LOCAL_CHAT=on opens it."
            ),
        )
    return True, True, f"Open {url} to chat with Tandem"


class PageClock:
    """Real time plus an offset that only moves forward."""

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    async def load(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        async with sessions() as session:
            saved = await local_chat.get_state(session, OFFSET)
        if saved is not None:
            self.offset = timedelta(seconds=float(saved))

    async def move_to(self, sessions: async_sessionmaker[AsyncSession], when: datetime) -> None:
        offset = when - datetime.now(UTC)
        if offset <= self.offset:
            return
        self.offset = offset
        async with sessions() as session, session.begin():
            await local_chat.set_state(session, OFFSET, f"{offset.total_seconds():.3f}")


async def next_event(session: AsyncSession) -> tuple[datetime, str, str] | None:
    """(fire time, schedule kind, team timezone) of the earliest enabled schedule."""
    earliest = (
        select(func.min(Schedule.next_fire_at))
        .where(Schedule.enabled.is_(True), Schedule.next_fire_at.is_not(None))
        .scalar_subquery()
    )
    row = (
        await session.execute(
            select(Schedule.next_fire_at, Schedule.kind, Team.timezone)
            .join(Team, Team.id == Schedule.team_id)
            .where(Schedule.enabled.is_(True), Schedule.next_fire_at == earliest)
            .limit(1)
        )
    ).first()
    if row is None or row[0] is None:
        return None
    return row[0], str(row[1]), str(row[2])


def example_team() -> dict[str, Any]:
    """The example team (examples/team.yaml), made local: each member reachable on this page only (their
    first name), and one local channel. Without the file (an installed Tandem), the demo's team."""
    if EXAMPLE_FILE.exists():
        data: dict[str, Any] = yaml.safe_load(EXAMPLE_FILE.read_text(encoding="utf-8"))
    else:
        from bot.demo import DEMO_TEAM

        data = dict(DEMO_TEAM)
    keep = ("name", "side", "co_chair", "email")
    data["members"] = [
        {**{k: m[k] for k in keep if k in m}, "local": str(m["name"]).split()[0].lower()}
        for m in data["members"]
    ]
    data["channels"] = [{"platform": "local", "id": "team", "name": "#team"}]
    return data


def describe(when: datetime, kind: str, timezone: str) -> str:
    local = when.astimezone(zone(timezone))
    hour = local.strftime("%I").lstrip("0")
    return f"Moved to {local:%a} {local.day} {local:%b} {hour}:{local:%M %p}: {WHAT.get(kind, kind)}."

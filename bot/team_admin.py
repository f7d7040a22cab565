"""`tandem team list` and `tandem team remove NAME [--include-history] [--yes]`."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import teams
from storage.models import OutboxMessage, Team
from storage.team_removal import footprint, remove_team


async def list_teams(sessions: async_sessionmaker[AsyncSession]) -> str:
    """One line per team: members, channels, and messages waiting or failed."""
    async with sessions() as session:
        found = list((await session.execute(select(Team).order_by(Team.name))).scalars())
        if not found:
            return "No teams yet: `tandem team import team.yaml`, or /tandem setup in Slack."
        waiting = {
            (team_id, status): int(n)
            for team_id, status, n in (
                await session.execute(
                    select(OutboxMessage.team_id, OutboxMessage.status, func.count()).group_by(
                        OutboxMessage.team_id, OutboxMessage.status
                    )
                )
            ).all()
        }
        lines = []
        for team in found:
            members = await teams.members(session, team.id)
            channels = await teams.channels_of(session, team.id)
            where = ", ".join(f"{c.platform} {c.name or c.address}" for c in channels) or "no channel"
            pending = waiting.get((team.id, "pending"), 0) + waiting.get((team.id, "sending"), 0)
            failed = waiting.get((team.id, "failed"), 0)
            line = f"{team.name}  ({team.timezone}, {len(members)} members; {where})"
            if (team.settings or {}).get("removed"):
                line += "  removed: released poll history kept"
            if pending or failed:
                line += f"  outbox: {pending} waiting, {failed} failed"
            lines.append(line)
    return "\n".join(lines)


async def remove(
    sessions: async_sessionmaker[AsyncSession],
    name: str,
    *,
    include_history: bool,
    confirm: Callable[[str], bool],
) -> str:
    """Delete the team after `confirm(question)` says yes; a line saying what was removed or kept."""
    async with sessions() as session:
        team = await teams.team_by_name(session, name)
        if team is None:
            known = ", ".join(await teams.all_team_names(session)) or "none yet"
            raise ValueError(f"no team named {name!r} (teams: {known})")
        seen = await footprint(session, team.id)
    history = (
        f" and its {seen.released_polls} released poll report(s)"
        if include_history and seen.released_polls
        else ""
    )
    question = (
        f"Remove team {name!r}: its {seen.members} members, channels, schedules, open polls, and messages "
        f"not yet sent{history}? This cannot be undone."
    )
    if not confirm(question):
        return "Nothing removed."
    async with sessions() as session, session.begin():
        team = await teams.team_by_name(session, name)
        if team is None:
            return "Nothing removed: the team is already gone."
        kept = await remove_team(session, team.id, include_history=include_history)
    if kept:
        return (
            f"Removed team {name!r}. Kept its {kept} released poll report(s) (aggregates only); "
            f"`tandem team remove {name!r} --include-history` deletes them too."
        )
    return f"Removed team {name!r} and everything of it."

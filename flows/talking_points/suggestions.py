"""Done action items since the team's last published joint talking points, offered in the draft form."""

from __future__ import annotations

from flows.core.engine import FlowContext


async def done_titles(ctx: FlowContext, team_id: int) -> list[str]:
    """Titles of action items done since the last published set (none until action items exist)."""
    return []

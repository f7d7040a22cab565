"""`tandem export pulse --team NAME --format csv|json`: aggregates per poll, component and side.

Never individual rows. Open polls are left out (nobody sees results before close); withheld polls appear
with their count and no figures; side rows appear only where the report itself shows the side view.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flows.content.instruments import instrument_from_data
from flows.pulse.report import side_view_allowed
from storage import pulse, teams

FIELDS = (
    "poll",
    "instrument",
    "closed_at",
    "status",
    "respondents",
    "invited",
    "component",
    "side",
    "mean",
    "answers",
)


class ExportError(ValueError):
    """The export was refused (unknown team, unknown format)."""


async def export_rows(session: AsyncSession, team_name: str) -> list[dict[str, Any]]:
    team = await teams.team_by_name(session, team_name)
    if team is None:
        raise ExportError(f"no team named {team_name!r}")
    polls = {p.id: p for p in await pulse.closed_polls(session, team.id)}
    figures = await pulse.export_rows(session, team.id)
    out: list[dict[str, Any]] = []
    for poll in polls.values():
        base = {
            "poll": poll.id,
            "instrument": poll.instrument_id,
            "closed_at": poll.closed_at.isoformat() if poll.closed_at else None,
            "status": poll.status,
            "respondents": poll.respondents,
            "invited": poll.invited,
        }
        if poll.status != pulse.RELEASED:
            out.append({**base, "component": None, "side": None, "mean": None, "answers": None})
            continue
        names = {c.id: c.name for c in instrument_from_data(poll.instrument).components}
        counts = await pulse.side_counts(session, poll.id)
        sides_ok = side_view_allowed(counts, poll.min_responses, poll.sides_recorded)[0]
        for poll_id, _instrument, side, component, mean, ballots in figures:
            if poll_id != poll.id or (side is not None and not sides_ok):
                continue
            out.append(
                {
                    **base,
                    "component": names.get(component, component),
                    "side": side or "all",
                    "mean": round(mean, 3),
                    "answers": ballots,
                }
            )
    return out


async def export_pulse(sessions: async_sessionmaker[AsyncSession], team_name: str, fmt: str) -> str:
    """The export as text in `fmt` ("csv" or "json")."""
    if fmt not in ("csv", "json"):
        raise ExportError(f"unknown format {fmt!r}: use csv or json")
    async with sessions() as session:
        rows = await export_rows(session, team_name)
    if fmt == "json":
        return json.dumps({"team": team_name, "rows": rows}, indent=2)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()

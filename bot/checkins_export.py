"""`tandem export checkins --team NAME --format csv|json`: every closed check-in's named answers (check-ins
are not anonymous), and its participation and mood as aggregates only.

One row per answer (run, day, question, name, answer), and one summary row per run (question and name
empty) with how many were asked, how many answered and, where it was released, the mood average and
count. A mood is never tied to a name: below the team's minimum there is no mood figure at all. Open runs
are left out (their answers can still change).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import checkins, teams

FIELDS = (
    "run",
    "day",
    "closed_at",
    "asked",
    "answered",
    "mood_average",
    "moods",
    "question",
    "name",
    "answer",
)


class ExportError(ValueError):
    """The export was refused (unknown team, unknown format)."""


async def export_rows(session: AsyncSession, team_name: str) -> list[dict[str, Any]]:
    team = await teams.team_by_name(session, team_name)
    if team is None:
        raise ExportError(f"no team named {team_name!r}")
    names = {m.person_id: m.name for m in await teams.members(session, team.id)}
    closed = [r for r in await checkins.runs_of_team(session, team.id) if r.status == checkins.CLOSED]
    moods = await checkins.mood_summaries(session, [r.id for r in closed])
    out: list[dict[str, Any]] = []
    for run in closed:
        mood = moods.get(run.id)
        base = {
            "run": run.id,
            "day": run.run_day,
            "closed_at": run.closed_at.isoformat() if run.closed_at else None,
            "asked": len(run.asked),
            "answered": run.respondents,
        }
        out.append(
            {
                **base,
                "mood_average": round(mood.mean, 2) if mood and mood.mean is not None else None,
                "moods": mood.count if mood else None,
                "question": None,
                "name": None,
                "answer": None,
            }
        )
        given = sorted(await checkins.responses(session, run.id), key=lambda r: names.get(r.person_id, ""))
        for position, prompt in enumerate(run.prompts):
            for response in given:
                text = response.answers[position] if position < len(response.answers) else None
                if text:
                    out.append(
                        {
                            **base,
                            "mood_average": None,
                            "moods": None,
                            "question": prompt,
                            "name": names.get(response.person_id, "(former member)"),
                            "answer": text,
                        }
                    )
    return out


async def export_checkins(sessions: async_sessionmaker[AsyncSession], team_name: str, fmt: str) -> str:
    """The export as text in `fmt` ("csv" or "json")."""
    if fmt not in ("csv", "json"):
        raise ExportError(f"unknown format {fmt!r}: use csv or json")
    async with sessions() as session:
        rows = await export_rows(session, team_name)
    if fmt == "json":
        return json.dumps({"team": team_name, "rows": rows}, indent=2, ensure_ascii=False)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()

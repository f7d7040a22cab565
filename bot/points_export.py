"""`tandem export talking-points --team NAME [--format json|csv]`: every set of talking points (drafts,
published, withdrawn, corrections) with its approvals, the decision log, and the audit trail of who
drafted, edited, approved, withdrew, published and corrected, when. JSON has all three; CSV the audit
trail, one row an action."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import audit, decisions, talking_points, teams

AUDITED = ("points.", "decision.")
CSV_FIELDS = ("at", "who", "side", "action", "set", "decision", "detail")


class ExportError(ValueError):
    """The export was refused (unknown team, unknown format)."""


async def export_data(session: AsyncSession, team_name: str) -> dict[str, Any]:
    team = await teams.team_by_name(session, team_name)
    if team is None:
        raise ExportError(f"no team named {team_name!r}")
    members = {m.person_id: m for m in await teams.members(session, team.id)}
    sets = [
        {
            "id": s.id,
            "kind": s.kind,
            "status": s.status,
            "revision": s.revision,
            "points": list(s.points),
            "note": s.note,
            "channels": [c.to_data() for c in s.channels],
            "decisions": list(s.decision_ids),
            "corrects": s.corrects_id,
            "proposed_by": members[s.proposed_by].name if s.proposed_by in members else None,
            "created_at": s.created_at.isoformat(),
            "published_at": s.published_at.isoformat() if s.published_at else None,
            "approvals": [
                {"name": a.name, "side": a.side, "text_hash": a.text_hash, "at": a.approved_at.isoformat()}
                for a in s.approvals
            ],
        }
        for s in await talking_points.all_sets(session, team.id)
    ]
    logged = [
        {
            "id": d.id,
            "text": d.text,
            "level": d.level,
            "my_side": d.my_side,
            "decided_by": [{"name": p.name, "side": p.side} for p in d.decided_by],
            "reasons": d.reasons,
            "meeting": d.meeting,
            "status": d.status,
            "recorded_at": d.recorded_at.isoformat(),
        }
        for d in await decisions.for_team(session, team.id)
    ]
    trail = []
    for entry in await audit.entries(session, team.id):
        if not entry.action.startswith(AUDITED):
            continue
        who = members.get(entry.actor_person_id or 0)
        trail.append(
            {
                "at": entry.at.isoformat(),
                "who": who.name if who else None,
                "side": who.side if who else None,
                "action": entry.action,
                "set": entry.detail.get("set"),
                "decision": entry.detail.get("decision"),
                "detail": dict(entry.detail),
            }
        )
    return {"team": team.name, "talking_points": sets, "decisions": logged, "audit": trail}


async def export_talking_points(sessions: async_sessionmaker[AsyncSession], team_name: str, fmt: str) -> str:
    if fmt not in ("csv", "json"):
        raise ExportError(f"unknown format {fmt!r}: use json or csv")
    async with sessions() as session:
        data = await export_data(session, team_name)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in data["audit"]:
        writer.writerow({**row, "detail": json.dumps(row["detail"], ensure_ascii=False, sort_keys=True)})
    return buffer.getvalue()

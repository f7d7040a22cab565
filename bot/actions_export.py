"""`tandem export actions --team NAME --format csv|json`: every action item of a team with its history.

JSON: one object per item, its history (who, when, what) inside. CSV: one row per history entry, the
item's columns repeated, so a spreadsheet filters by item or by change.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.pulse_export import ExportError
from storage import action_items, teams

ITEM_FIELDS = (
    "item",
    "title",
    "status",
    "due",
    "owners",
    "created_at",
    "done_at",
    "outcome",
    "reason",
    "meeting",
)
HISTORY_FIELDS = ("at", "who", "what", "detail")


async def export_items(session: AsyncSession, team_name: str) -> list[dict[str, Any]]:
    team = await teams.team_by_name(session, team_name)
    if team is None:
        raise ExportError(f"no team named {team_name!r}")
    items = await action_items.all_items(session, team.id)
    history = await action_items.history(session, [i.id for i in items])
    out: list[dict[str, Any]] = []
    for item in items:
        out.append(
            {
                "item": item.id,
                "title": item.title,
                "status": item.status,
                "due": item.due.isoformat(),
                "owners": list(item.owner_names),
                "created_at": item.created_at.isoformat(),
                "done_at": item.done_at.isoformat() if item.done_at else None,
                "outcome": item.outcome,
                "reason": item.reason,
                "meeting": item.meeting_local,
                "history": [
                    {"at": h.at.isoformat(), "who": h.who, "what": h.what, "detail": h.detail}
                    for h in history
                    if h.item_id == item.id
                ],
            }
        )
    return out


async def export_actions(sessions: async_sessionmaker[AsyncSession], team_name: str, fmt: str) -> str:
    """The export as text in `fmt` ("csv" or "json")."""
    if fmt not in ("csv", "json"):
        raise ExportError(f"unknown format {fmt!r}: use csv or json")
    async with sessions() as session:
        items = await export_items(session, team_name)
    if fmt == "json":
        return json.dumps({"team": team_name, "items": items}, indent=2, ensure_ascii=False) + "\n"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=(*ITEM_FIELDS, *HISTORY_FIELDS), lineterminator="\n")
    writer.writeheader()
    for item in items:
        base = {k: item[k] for k in ITEM_FIELDS}
        base["owners"] = "; ".join(item["owners"])
        for entry in item["history"]:
            writer.writerow({**base, **entry, "detail": json.dumps(entry["detail"], ensure_ascii=False)})
    return buffer.getvalue()

"""When pulse polls open by themselves, and a team's own polls: the quarterly schedule and the team file's
`pulse:` and `polls:` fields (called from flows/team_setup.import_team, inside its transaction).

Quarterly means "the same weekday of the month every three months" (the second Monday, say), at 9 AM
wall-clock in the team's zone, so a poll never opens on a weekend and keeps 9 AM across DST changes.
Kept free of flows/pulse.py's imports so the team file can use it without an import cycle.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flows.content.instruments import DEFAULT_INSTRUMENT, Instrument, instrument_from_data, instruments
from flows.core.recurrence import utc_to_local, zone
from flows.core.team_schedules import set_team_schedule
from storage import flow_state, schedules
from storage.models import Schedule, Team

FLOW = "pulse"
QUARTERLY_KIND = "pulse.quarterly"  # opens a poll every quarter, in the team's zone
OPENS_AT = time(9, 0)
QUARTER_MONTHS = (1, 4, 7, 10)
TEAM_POLLS_KEY = "team-polls"  # flow state: the team file's own polls, as validated instrument data
ALIASES = {
    "trust": "relational-trust",
    "rtsa": "relational-trust",
    "team": "effective-team",
    "eta": "effective-team",
}
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def quarterly_rule(first: date) -> str:
    """Every three months on `first`'s weekday-of-month: the 2nd Monday stays the 2nd Monday (the 5th of a
    weekday becomes the last one, which every month has)."""
    nth = (first.day - 1) // 7 + 1
    return f"FREQ=MONTHLY;INTERVAL=3;BYDAY={-1 if nth == 5 else nth}{WEEKDAYS[first.weekday()]}"


def default_first(now: datetime, timezone: str) -> date:
    """The second Monday of the next calendar quarter (January, April, July, October)."""
    today = utc_to_local(now, zone(timezone)).date()
    year, month = today.year, next((m for m in QUARTER_MONTHS if m > today.month), 13)
    if month == 13:
        year, month = year + 1, 1
    eighth = date(year, month, 8)
    return date(year, month, 8 + (0 - eighth.weekday()) % 7)


async def set_quarterly_schedule(
    session: AsyncSession, team: Team, first: date, instrument_id: str, now: datetime
) -> Schedule:
    """Open `instrument_id` every quarter from `first` (its weekday of the month), 9 AM in the team's zone."""
    start = datetime.combine(first, OPENS_AT)
    rule = quarterly_rule(first)
    return await set_team_schedule(
        session,
        team,
        kind=QUARTERLY_KIND,
        rrule=rule,
        start=start,
        settings={"instrument": instrument_id, "misfire_grace_minutes": 24 * 60},
        now=now,
    )


# ---------------------------------------------------------------- team-defined polls


def _slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())[:48]


def team_poll_data(raw: Any, n: int) -> dict[str, Any]:
    """A team file's poll, with ids filled in, as instrument data; ValueError naming the field.

    `{name, scale: {min, max, labels: {1: ..., 5: ...}}, components: [{name, items: [text, ...]}]}`; ids
    are optional (taken from the names), an item may be a plain text or `{id, text, low, high}`."""
    where = f"polls: poll {n + 1}"
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: give a mapping with name, scale and components")
    unknown = sorted(set(raw) - {"id", "name", "short", "purpose", "instructions", "scale", "components"})
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {', '.join(unknown)}")
    name = str(raw.get("name") or "").strip()
    if not name:
        raise ValueError(f"{where}: name: give the poll a name")
    poll_id = _slug(str(raw.get("id") or name))
    if not poll_id or poll_id in instruments() or poll_id in ALIASES:
        raise ValueError(f"{where}: id: {poll_id!r} is empty or the name of a shipped instrument")
    where = f"polls: {poll_id}"
    if not isinstance(raw.get("scale"), dict) or not {"min", "max"} <= set(raw["scale"]):
        raise ValueError(f"{where}: scale: give min and max (and labels for the anchors)")
    components = []
    for c, component in enumerate(raw.get("components") or []):
        if isinstance(component, dict):
            cid = _slug(str(component.get("id") or component.get("name") or ""))
            items = []
            for i, item in enumerate(component.get("items") or []):
                if isinstance(item, str):
                    item = {"text": item}
                if isinstance(item, dict):
                    item = {"id": f"{cid}.{i + 1}", **item}
                items.append(item)
            component = {**component, "id": cid or f"c{c + 1}", "items": items}
        components.append(component)
    data = {**raw, "id": poll_id, "components": components}
    try:
        return instrument_from_data(data).to_data()
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


async def team_polls(session: AsyncSession, team_id: int) -> dict[str, Instrument]:
    data = await flow_state.load(session, FLOW, team_id, TEAM_POLLS_KEY)
    found = [instrument_from_data(p) for p in data.get("polls", [])]
    return {instrument.id: instrument for instrument in found}


async def find_instrument(session: AsyncSession, team_id: int, name: str) -> Instrument | None:
    """A shipped instrument (by id or alias) or one of the team's own polls; the default for ''."""
    key = (name.split()[0].lower() if name.strip() else DEFAULT_INSTRUMENT).strip()
    key = ALIASES.get(key, key)
    return instruments().get(key) or (await team_polls(session, team_id)).get(key)


async def known_names(session: AsyncSession, team_id: int) -> list[str]:
    return sorted({*instruments(), *ALIASES, *(await team_polls(session, team_id))})


# ---------------------------------------------------------------- the team file


async def apply_team_file(
    session: AsyncSession,
    team: Team,
    *,
    pulse: dict[str, Any] | None,
    polls: list[dict[str, Any]] | None,
    now: datetime,
) -> None:
    """The team file's pulse fields, already validated: `pulse` is None (not given: a new team gets the
    quarterly trust check, an existing schedule is left as the co-chairs set it), {"every": "off"} or
    {"every": "quarterly", "start": date | None, "instrument": id}; `polls` replaces the team's own polls
    when given."""
    if polls is not None:
        await flow_state.save(session, FLOW, team.id, TEAM_POLLS_KEY, {"polls": polls}, now)
    existing = await schedules.for_team(session, team.id, QUARTERLY_KIND)
    if pulse is not None and pulse.get("every") == "off":
        for row in existing:
            row.enabled = False
        return
    if pulse is None and existing:
        return
    pulse = pulse or {}
    first = pulse.get("start") or default_first(now, team.timezone)
    instrument_id = (
        ALIASES.get(str(pulse.get("instrument") or ""), pulse.get("instrument")) or DEFAULT_INSTRUMENT
    )
    await set_quarterly_schedule(session, team, first, str(instrument_id), now)

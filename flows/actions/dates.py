"""Due dates as people type them: `2026-12-04`, `friday`, `tomorrow`, `in 2 weeks`, `next week`.

Pure. "Today" is the team's local date (`today_in`), so a promise made at 11 PM in Los Angeles on
New Year's Eve is due relative to the 31st, not to UTC's 1 January.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from flows.core.recurrence import utc_to_local, zone

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_IN = re.compile(r"^in\s+(\d{1,3}|a|an|one|two|three|four)\s+(day|days|week|weeks|month|months)$")
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4}


def today_in(now: datetime, timezone: str) -> date:
    """The local date in `timezone` at the instant `now`."""
    return utc_to_local(now, zone(timezone)).date()


def _add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


def parse_due(text: str, today: date) -> date | None:
    """The date `text` names, relative to `today`; None when it names none. A weekday is the next one
    after today (on a Friday, "friday" is a week away); `next week` is next Monday."""
    words = " ".join(text.lower().replace(",", " ").split())
    if not words:
        return None
    try:
        return date.fromisoformat(words)
    except ValueError:
        pass
    if words == "today":
        return today
    if words == "tomorrow":
        return today + timedelta(days=1)
    if words == "next week":
        return today + timedelta(days=7 - today.weekday())
    name = words.removeprefix("next ").removeprefix("on ")
    for number, weekday in enumerate(WEEKDAYS):
        if name in (weekday, weekday[:3]):
            return today + timedelta(days=(number - today.weekday() - 1) % 7 + 1)
    match = _IN.match(words)
    if match is not None:
        raw, unit = match.groups()
        count = int(raw) if raw.isdigit() else _NUMBERS[raw]
        if unit.startswith("day"):
            return today + timedelta(days=count)
        if unit.startswith("week"):
            return today + timedelta(weeks=count)
        return _add_months(today, count)
    return None


def week_start(day: date) -> date:
    """The Monday of `day`'s week (the lists group by it)."""
    return day - timedelta(days=day.weekday())

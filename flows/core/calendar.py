"""Pure rules over a team's calendar (storage/calendar.py): working days, holidays, away ranges, and the
instant a local wall-clock time happens in a zone. No I/O."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from flows.core import recurrence
from storage.calendar import TeamCalendar
from storage.us_holidays import us_federal_holiday, us_federal_holidays

__all__ = [
    "TeamCalendar",
    "add_working_days",
    "is_away",
    "is_working_day",
    "local_moment",
    "next_working_day",
    "us_federal_holiday",
    "us_federal_holidays",
]

# A calendar whose every day is a holiday would loop forever; ten years without a working day is an error.
SEARCH_LIMIT_DAYS = 3660


def is_working_day(day: date, cal: TeamCalendar) -> bool:
    """A workday of the team and not one of its holidays."""
    return day.weekday() in cal.workdays and day not in cal.holidays


def next_working_day(day: date, cal: TeamCalendar) -> date:
    """`day` itself when it is a working day, else the first working day after it."""
    for offset in range(SEARCH_LIMIT_DAYS):
        candidate = day + timedelta(days=offset)
        if is_working_day(candidate, cal):
            return candidate
    raise ValueError(f"no working day within {SEARCH_LIMIT_DAYS} days of {day}")


def add_working_days(day: date, n: int, cal: TeamCalendar) -> date:
    """The day `n` working days after `day` (before it when n < 0), counting only working days; `day`
    itself when n == 0. Friday + 1 is Monday on a Monday-to-Friday team."""
    step = timedelta(days=1 if n >= 0 else -1)
    remaining, current = abs(n), day
    for _ in range(SEARCH_LIMIT_DAYS):
        if remaining == 0:
            return current
        current += step
        if is_working_day(current, cal):
            remaining -= 1
    raise ValueError(f"no {n} working days within {SEARCH_LIMIT_DAYS} days of {day}")


def is_away(day: date, ranges: Sequence[tuple[date, date]]) -> bool:
    """True when `day` falls in one of the inclusive (first, last) ranges."""
    return any(first <= day <= last for first, last in ranges)


def local_moment(day: date, at: time, zone: str) -> datetime:
    """The aware UTC instant of wall-clock `at` on `day` in the IANA zone: a time in a spring-forward gap
    moves forward by the gap (02:30 → 03:30), a repeated time of a fall-back takes the first of the two."""
    return recurrence.local_to_utc(datetime.combine(day, at.replace(tzinfo=None)), recurrence.zone(zone))

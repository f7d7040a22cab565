"""The built-in US federal holiday calendar, computed from its rules (5 U.S.C. 6103): a team can opt in
(`us_federal_holidays: true`), and its schedules then skip these days as they skip the team's own holidays.

Pure and without I/O; it lives in storage because `storage/calendar.py` folds it into a team's calendar
(flows use it through `flows/core/calendar.py`). A holiday on a Saturday is observed on the Friday before,
one on a Sunday on the Monday after; both the day itself and the observed day count as holidays.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

MON, THU = 0, 3


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The `n`th `weekday` (Monday=0) of the month; n=-1 is the last one."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    following = date(year + month // 12, month % 12 + 1, 1)
    last = following - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def observed(day: date) -> date:
    """The weekday a fixed-date holiday is observed on: Saturday → Friday, Sunday → Monday."""
    if day.weekday() == 5:
        return day - timedelta(days=1)
    if day.weekday() == 6:
        return day + timedelta(days=1)
    return day


def _rules(year: int) -> list[tuple[date, str, bool]]:
    """(day, name, fixed date?) for one year."""
    rules = [
        (date(year, 1, 1), "New Year's Day", True),
        (nth_weekday(year, 1, MON, 3), "Martin Luther King Jr. Day", False),
        (nth_weekday(year, 2, MON, 3), "Presidents' Day", False),
        (nth_weekday(year, 5, MON, -1), "Memorial Day", False),
        (date(year, 7, 4), "Independence Day", True),
        (nth_weekday(year, 9, MON, 1), "Labor Day", False),
        (nth_weekday(year, 10, MON, 2), "Columbus Day / Indigenous Peoples' Day", False),
        (date(year, 11, 11), "Veterans Day", True),
        (nth_weekday(year, 11, THU, 4), "Thanksgiving Day", False),
        (date(year, 12, 25), "Christmas Day", True),
    ]
    if year >= 2021:  # Juneteenth National Independence Day Act, 2021
        rules.append((date(year, 6, 19), "Juneteenth", True))
    return rules


@lru_cache(maxsize=256)
def _year(year: int) -> dict[date, str]:
    days: dict[date, str] = {}
    for day, name, fixed in _rules(year):
        days[day] = name
        if fixed and observed(day) != day:
            days[observed(day)] = f"{name} (observed)"
    return days


def us_federal_holidays(year: int) -> dict[date, str]:
    """Every federal holiday day of `year` (and observed day falling in `year`) -> its name, in date order.
    New Year's Day of the following year observed on December 31 is included."""
    merged = {d: n for d, n in _year(year).items() if d.year == year}
    merged.update({d: n for d, n in _year(year + 1).items() if d.year == year})
    return dict(sorted(merged.items()))


def us_federal_holiday(day: date) -> str | None:
    """The federal holiday on `day`, if any."""
    return _year(day.year).get(day) or _year(day.year + 1).get(day)

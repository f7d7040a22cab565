"""Wording helpers shared by flows: times as people read them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flows.core.recurrence import local_to_utc, zone


def meeting_time(local: datetime, timezone: str) -> str:
    """`Tue 10 Nov, 4:00 PM PST` for a local wall-clock time in `timezone`."""
    aware = local_to_utc(local, zone(timezone)).astimezone(zone(timezone))
    hour = aware.strftime("%I").lstrip("0") or "12"
    return f"{aware:%a} {aware.day} {aware:%b}, {hour}:{aware:%M %p} {aware.tzname()}"


def meeting_day(local: datetime) -> str:
    return f"{local:%a} {local.day} {local:%b}"


_DAYS = {
    "MO": "rule.day.mo",
    "TU": "rule.day.tu",
    "WE": "rule.day.we",
    "TH": "rule.day.th",
    "FR": "rule.day.fr",
    "SA": "rule.day.sa",
    "SU": "rule.day.su",
}
_NTH = {1: "rule.nth.1", 2: "rule.nth.2", 3: "rule.nth.3", 4: "rule.nth.4", -1: "rule.nth.last"}


def working_days(n: int, say: Callable[..., str]) -> str:
    """ "1 working day", "2 working days" (in `say`'s language)."""
    return say("time.working_day") if n == 1 else say("time.working_days", n=n)


def rule_in_words(rrule: str, say: Callable[..., str]) -> str:
    """A recurrence as people say it: `FREQ=WEEKLY;INTERVAL=2;BYDAY=MO` → "every other Monday". Daily,
    weekly and monthly-by-weekday rules are put in words; any other rule is shown as written."""
    parts = dict(p.split("=", 1) for p in rrule.removeprefix("RRULE:").split(";") if "=" in p)
    freq, interval = parts.get("FREQ", ""), parts.get("INTERVAL", "1")
    days = [d for d in parts.get("BYDAY", "").split(",") if d]
    known = set(parts) <= {"FREQ", "INTERVAL", "BYDAY", "WKST"} and interval.isdigit() and int(interval) > 0
    n = int(interval) if interval.isdigit() else 0
    if not known:
        return rrule
    if freq == "DAILY" and not days:
        return say("rule.daily") if n == 1 else say("rule.every_n_days", n=n)
    if freq == "WEEKLY" and days and all(d in _DAYS for d in days):
        names = say("rule.and").join(say(_DAYS[d]) for d in days)
        if n == 1:
            return say("rule.weekly", days=names)
        return say("rule.every_other", days=names) if n == 2 else say("rule.every_n_weeks", n=n, days=names)
    if freq == "MONTHLY" and len(days) == 1 and days[0][-2:] in _DAYS and days[0][:-2].lstrip("-").isdigit():
        nth, day = int(days[0][:-2]), say(_DAYS[days[0][-2:]])
        if nth in _NTH:
            which = say(_NTH[nth])
            if n == 1:
                return say("rule.monthly", nth=which, day=day)
            return say("rule.every_n_months", nth=which, day=day, n=n)
    return rrule

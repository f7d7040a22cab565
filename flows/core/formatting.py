"""Wording helpers shared by flows: times as people read them."""

from __future__ import annotations

from datetime import datetime

from flows.core.recurrence import local_to_utc, zone


def meeting_time(local: datetime, timezone: str) -> str:
    """`Tue 10 Nov, 4:00 PM PST` for a local wall-clock time in `timezone`."""
    aware = local_to_utc(local, zone(timezone)).astimezone(zone(timezone))
    hour = aware.strftime("%I").lstrip("0") or "12"
    return f"{aware:%a} {aware.day} {aware:%b}, {hour}:{aware:%M %p} {aware.tzname()}"


def meeting_day(local: datetime) -> str:
    return f"{local:%a} {local.day} {local:%b}"

"""A schedule's occurrences as they actually happen: its rule's (flows/core/recurrence.py), minus the ones
skipped or moved, plus the moved ones at their new local time (storage/calendar.py, `schedule_exceptions`),
and what a team holiday does to an occurrence (the schedule's holiday policy).

Keys stay local wall-clock times, so a moved occurrence is claimed under its new time exactly once, as any
other occurrence is (storage/schedules.py)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from flows.core.recurrence import Recurrence, from_key, to_key, utc_to_local

# What a team holiday does to a schedule's occurrence (`on_holiday` in the schedule's settings):
RUN = "run"  # nothing: upkeep schedules (closing polls, forgetting) run every day
SKIP = "skip"  # not run: a meeting on a holiday does not happen
NEXT_WORKING_DAY = "next_working_day"  # run on the next working day, at the same local time
HOLIDAY_POLICIES = (RUN, SKIP, NEXT_WORKING_DAY)
HOLIDAY_SETTING = "on_holiday"


def holiday_policy(settings: Mapping[str, Any] | None, default: str = RUN) -> str:
    policy = (settings or {}).get(HOLIDAY_SETTING, default)
    return policy if policy in HOLIDAY_POLICIES else default


class Occurrences:
    """The rule's occurrences with `exceptions` (original key -> new key, or None: skipped) applied."""

    def __init__(self, recurrence: Recurrence, exceptions: Mapping[str, str | None] | None = None) -> None:
        self.recurrence = recurrence
        self.removed: set[datetime] = set()
        self.moved: dict[datetime, datetime] = {}  # new time -> the original occurrence
        for original, new in (exceptions or {}).items():
            self.move(from_key(original), from_key(new) if new else None)

    def move(self, original: datetime, new: datetime | None) -> None:
        self.removed.add(original)
        if new is not None:
            self.moved[new] = original

    def is_moved(self, occurrence: datetime) -> bool:
        return occurrence in self.moved

    def original_of(self, occurrence: datetime) -> datetime:
        return self.moved.get(occurrence, occurrence)

    def fire_at(self, occurrence: datetime) -> datetime:
        return self.recurrence.fire_at(occurrence)

    def _kept(self, occurrence: datetime) -> bool:
        return occurrence not in self.removed or occurrence in self.moved

    def first_after(self, occurrence: datetime | None) -> datetime | None:
        """The occurrence after `occurrence` (the first one when None)."""
        rule = self.recurrence.rule
        found = self.recurrence.first_after(occurrence)
        while found is not None and not self._kept(found):
            found = rule.after(found, inc=False)
        extra = [m for m in self.moved if occurrence is None or m > occurrence]
        return min([*extra, *([found] if found is not None else [])], default=None)

    def first_firing_after(self, instant: datetime) -> datetime | None:
        """The first occurrence whose fire time is strictly after `instant`."""
        rule = self.recurrence.rule
        found = self.recurrence.first_firing_after(instant)
        while found is not None and not self._kept(found):
            found = rule.after(found, inc=False)
        extra = [m for m in self.moved if self.fire_at(m) > instant]
        return min([*extra, *([found] if found is not None else [])], default=None)

    def latest_due(self, start: datetime, now: datetime) -> datetime | None:
        """The latest occurrence at or after `start` whose fire time is at or before `now`."""
        rule, recurrence = self.recurrence.rule, self.recurrence
        probe = utc_to_local(now + recurrence.lead, recurrence.tz) + timedelta(hours=3)
        found = rule.before(probe, inc=True)
        while (
            found is not None
            and found >= start
            and (recurrence.fire_at(found) > now or not self._kept(found))
        ):
            found = rule.before(found, inc=False)
        candidates = [m for m in self.moved if m >= start and self.fire_at(m) <= now]
        if found is not None and found >= start:
            candidates.append(found)
        return max(candidates, default=None)

    def between(self, start: datetime, end: datetime, limit: int = 10_000) -> list[datetime]:
        """Occurrences in [start, end), at most `limit`."""
        ruled = [o for o in self.recurrence.between(start, end, limit + len(self.removed)) if self._kept(o)]
        extra = [m for m in self.moved if start <= m < end]
        return sorted({*ruled, *extra})[:limit]

    def keys(self) -> dict[str, str | None]:
        """The exceptions as stored: original key -> new key (None: skipped)."""
        out: dict[str, str | None] = {to_key(o): None for o in self.removed}
        out.update({to_key(original): to_key(new) for new, original in self.moved.items()})
        return out

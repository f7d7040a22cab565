"""When owners are reminded: the team's policy and the pure rule that turns it into reminder slots.

Defaults (DESIGN.md, "quiet by default"): two working days before the due date, on the due date, then
every 7 days while overdue, at most 4 overdue reminders; each at 9:00 in the owner's own zone; a slot that
falls on a team holiday, a non-working day or a day the owner is away moves to their next working day
present (a "before" reminder that would reach the due date is dropped, as is an overdue one that would
reach the next). No reminder goes to an owner who updated the item in the 24 hours before it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from flows.core.calendar import TeamCalendar, add_working_days, is_away, is_working_day, local_moment

QUIET_AFTER_UPDATE = timedelta(hours=24)
# A slot the bot could not send within this long (it was down) is skipped, not sent late.
MISSED_AFTER = timedelta(hours=12)


@dataclass(frozen=True)
class Policy:
    before_days: int = 2  # working days before the due date; 0: no early reminder
    at_hour: int = 9
    at_minute: int = 0
    overdue_every_days: int = 7
    max_overdue: int = 4  # 0: no overdue reminders

    @property
    def at(self) -> time:
        return time(self.at_hour, self.at_minute)

    def to_data(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_data(data: Mapping[str, Any]) -> Policy:
        known = {k: int(v) for k, v in data.items() if k in Policy.__dataclass_fields__}
        return Policy(**known)


@dataclass(frozen=True)
class Slot:
    key: str  # unique per item, owner and due date: "before:2026-12-04", "overdue2:2026-12-04"
    kind: str  # before | due | overdue
    day: date  # the owner's local day it goes out
    at: datetime  # the instant (aware UTC)


def _present(day: date, cal: TeamCalendar, away: Sequence[tuple[date, date]]) -> date:
    """`day`, or the next day that is a working day the owner is not away."""
    for _ in range(400):
        if is_working_day(day, cal) and not is_away(day, away):
            return day
        day += timedelta(days=1)
    return day


def slots(
    due: date, policy: Policy, cal: TeamCalendar, zone: str, away: Sequence[tuple[date, date]] = ()
) -> list[Slot]:
    """Every reminder one owner gets for an item due on `due`, in time order."""
    days: list[tuple[str, str, date]] = []
    due_day = _present(due, cal, away)
    if policy.before_days > 0:
        before = _present(add_working_days(due, -policy.before_days, cal), cal, away)
        if before < due_day and before < due:
            days.append((f"before:{due.isoformat()}", "before", before))
    days.append((f"due:{due.isoformat()}", "due", due_day))
    if policy.overdue_every_days > 0:
        last = due_day
        for n in range(1, policy.max_overdue + 1):
            wanted = due + timedelta(days=policy.overdue_every_days * n)
            following = due + timedelta(days=policy.overdue_every_days * (n + 1))
            day = _present(wanted, cal, away)
            if day <= last or day >= following:
                continue
            days.append((f"overdue{n}:{due.isoformat()}", "overdue", day))
            last = day
    return [Slot(key, kind, day, local_moment(day, policy.at, zone)) for key, kind, day in days]

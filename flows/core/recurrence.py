"""RFC 5545 recurrence in an IANA time zone, keyed by local wall-clock time.

An RRULE is expanded over *naive local* datetimes, so each occurrence is one wall-clock value: the
repeated 01:30 of a November fall-back is one occurrence (it fires at the first 01:30), and the missing
02:30 of a March spring-forward is one occurrence too (it fires at 03:30, the instant the zone maps it to).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rrulestr

KEY_FORMAT = "%Y-%m-%dT%H:%M:%S"


def zone(name: str) -> ZoneInfo:
    """The IANA zone `name`, or ValueError naming it."""
    try:
        if not name or name != name.strip():
            raise ZoneInfoNotFoundError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {name!r} (for example America/Los_Angeles)") from exc


def parse_rule(text: str, dtstart_local: datetime) -> rrule:
    """Parse an RRULE (with or without the `RRULE:` prefix); ValueError with dateutil's reason."""
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    if not body or "DTSTART" in body.upper():
        raise ValueError(
            f"not an RRULE: {text!r} (write e.g. FREQ=MONTHLY;BYDAY=2TU,4TU; the start goes elsewhere)"
        )
    try:
        rule = rrulestr(body, dtstart=dtstart_local)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise ValueError(f"malformed RRULE {text!r}: {exc}") from exc
    if not isinstance(rule, rrule):
        raise ValueError(f"malformed RRULE {text!r}: expected a single rule")
    return rule


def to_key(local: datetime) -> str:
    return local.replace(tzinfo=None, microsecond=0).strftime(KEY_FORMAT)


def from_key(key: str) -> datetime:
    return datetime.strptime(key, KEY_FORMAT)


def local_to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    """The instant a wall-clock time happens: the first of a repeated time, the shifted one of a gap."""
    return local.replace(tzinfo=tz, fold=0).astimezone(UTC)


def utc_to_local(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


@dataclass(frozen=True)
class Recurrence:
    """A schedule's rule: RRULE text, the first local occurrence, the zone, and a lead time.

    An occurrence *fires* `lead` before it happens (a reminder 30 minutes before a meeting)."""

    rule_text: str
    dtstart_local: datetime
    timezone: str
    lead: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        zone(self.timezone)
        parse_rule(self.rule_text, self.dtstart_local)

    @property
    def tz(self) -> ZoneInfo:
        return zone(self.timezone)

    @property
    def rule(self) -> rrule:
        return parse_rule(self.rule_text, self.dtstart_local)

    def fire_at(self, occurrence_local: datetime) -> datetime:
        return local_to_utc(occurrence_local, self.tz) - self.lead

    def first_after(self, occurrence_local: datetime | None) -> datetime | None:
        """The occurrence after `occurrence_local` (the first one when None)."""
        rule = self.rule
        if occurrence_local is None:
            found: datetime | None = rule.after(self.dtstart_local, inc=True)
        else:
            found = rule.after(occurrence_local, inc=False)
        return found

    def first_firing_after(self, instant: datetime) -> datetime | None:
        """The first occurrence whose fire time is strictly after `instant`."""
        probe = utc_to_local(instant + self.lead, self.tz) - timedelta(hours=3)
        candidate = self.rule.after(probe, inc=True)
        while candidate is not None and self.fire_at(candidate) <= instant:
            candidate = self.rule.after(candidate, inc=False)
        return candidate

    def latest_due(self, start: datetime, now: datetime) -> datetime | None:
        """The latest occurrence at or after `start` whose fire time is at or before `now`."""
        probe = utc_to_local(now + self.lead, self.tz) + timedelta(hours=3)
        candidate = self.rule.before(probe, inc=True)
        while candidate is not None and candidate >= start and self.fire_at(candidate) > now:
            candidate = self.rule.before(candidate, inc=False)
        if candidate is None or candidate < start:
            return None
        return candidate

    def between(self, start: datetime, end: datetime, limit: int = 10_000) -> list[datetime]:
        """Occurrences in [start, end), at most `limit`."""
        out: list[datetime] = []
        for occurrence in self.rule.xafter(start, inc=True):
            if occurrence >= end or len(out) >= limit:
                break
            out.append(occurrence)
        return out

"""The team calendar's tables: team holidays, the days a person is away, and per-occurrence exceptions
to a team's schedules (one occurrence skipped, or moved to another local time).

A person's own IANA time zone is `people.timezone` (storage/models.py); a team's working days and whether
it follows the built-in US federal holidays live in `teams.settings` (`working_days`,
`us_federal_holidays`), read by storage/calendar.py.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base


class TeamHoliday(Base):
    """A day the team does not work: no schedule of the team runs on it."""

    __tablename__ = "team_holidays"
    __table_args__ = (UniqueConstraint("team_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(200))


class PersonAway(Base):
    """An inclusive range of days a person is away from one team (nobody asks them anything then)."""

    __tablename__ = "person_away"
    __table_args__ = (
        CheckConstraint("first_day <= last_day", name="range_in_order"),
        Index("ix_person_away_team", "team_id", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)


class ScheduleException(Base):
    """One occurrence of a schedule (keyed by its local wall-clock time, as the claims are) that does not
    run as the rule says: skipped (`moved_to_local` None) or moved to another local wall-clock time."""

    __tablename__ = "schedule_exceptions"
    __table_args__ = (UniqueConstraint("schedule_id", "occurrence_local"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"))
    occurrence_local: Mapped[str] = mapped_column(String(19))
    moved_to_local: Mapped[str | None] = mapped_column(String(19))
    set_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    set_at: Mapped[datetime]

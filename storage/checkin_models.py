"""Check-ins: the tables. A check-in is not anonymous (the invitation says so): what a person wrote is kept
with their name until it is deleted. The optional mood is the exception and is stored like a pulse answer
(storage/pulse_models.py, docs/privacy.md): while the run is open only sealed, one ciphertext per person
(storage/sealing.py); at close shuffled into `checkin_moods` with no person, no time and random ids — or,
below the team's minimum, never written at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, one_of
from storage.pulse_models import NO_ROWID, new_id


class CheckinRun(Base):
    """One check-in of a team: who was asked, the questions, the window. Not personal data apart from the
    list of people asked (check-ins are named)."""

    __tablename__ = "checkin_runs"
    __table_args__ = (
        UniqueConstraint("team_id", "occurrence_local", name="uq_checkin_runs_occurrence"),
        Index("ix_checkin_runs_team", "team_id", "status"),
        one_of("status", ["open", "closed"], "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    occurrence_local: Mapped[str] = mapped_column(String(19))  # the schedule's occurrence (or "now-…")
    run_day: Mapped[str] = mapped_column(String(10))  # the day asked, in the team's zone (after holidays)
    status: Mapped[str] = mapped_column(String(16))
    prompts: Mapped[list[str]] = mapped_column(JSON)
    mood: Mapped[bool] = mapped_column(Boolean, default=False)
    min_responses: Mapped[int] = mapped_column(Integer)
    asked: Mapped[list[int]] = mapped_column(JSON)  # person ids invited (present, not away)
    opens_at: Mapped[datetime]  # the earliest invitation
    closes_at: Mapped[datetime]
    remind_at: Mapped[datetime | None]
    reminded: Mapped[bool] = mapped_column(Boolean, default=False)
    digest_posted: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_at: Mapped[datetime | None]
    respondents: Mapped[int | None] = mapped_column(Integer)  # kept at close
    moods_given: Mapped[int | None] = mapped_column(Integer)  # kept at close
    # the trend chart drawn when someone asked for it (PNG, storage/images.py); read only on its own
    chart_png: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True, deferred_raiseload=True)


class CheckinResponse(Base):
    """What one person wrote in one run, one text per question (None: left blank). Named by design."""

    __tablename__ = "checkin_responses"

    run_id: Mapped[int] = mapped_column(ForeignKey("checkin_runs.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    answers: Mapped[list[Any]] = mapped_column(JSON)


class CheckinMoodSealed(Base):
    """One person's mood in an open run, sealed (storage/sealing.py). Deleted at close."""

    __tablename__ = "checkin_mood_sealed"
    __table_args__ = NO_ROWID

    run_id: Mapped[int] = mapped_column(ForeignKey("checkin_runs.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class CheckinMood(Base):
    """One mood of a closed run: no person, no time, a random id; written all at once, shuffled."""

    __tablename__ = "checkin_moods"
    __table_args__ = (Index("ix_checkin_moods_run", "run_id"), NO_ROWID)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    run_id: Mapped[int] = mapped_column(ForeignKey("checkin_runs.id", ondelete="CASCADE"))
    value: Mapped[int] = mapped_column(SmallInteger)

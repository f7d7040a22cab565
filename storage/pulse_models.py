"""Pulse trust polls: the tables, laid out so that no one with the database alone can tie an answer to a
person (the threat model and the promise are in docs/privacy.md).

- While a poll is open, what a person submitted exists only in `pulse_sealed`: one row per person who has
  answered, holding AES-GCM ciphertext under the server's key (storage/sealing.py), padded to one length for
  the whole poll. A reader of the database sees who has answered (the reminders need that), never what.
  Editing until close replaces the person's sealed row.
- At close the server opens every sealed row, shuffles the ballots, their answers and the comments apart,
  writes them in one transaction in that random order and deletes the sealed rows. So the answer tables are
  written once per poll, all at one moment, by a transaction that writes no person next to them.
- `pulse_ballots`, `pulse_answers`, `pulse_comments` hold what people said. They have no person column, no
  timestamp (a ballot belongs to its poll, whose times are the finest there are) and random ids, so neither
  keys nor physical order record anything. On SQLite they are WITHOUT ROWID tables.
- A ballot's `side_group` ("labor" or "management") is written only when the side view can be shown (every
  side shown meets the poll's minimum; see flows/pulse/report.py). A comment is not linked to its ballot:
  writing style must not lead to the answers.
"""

from __future__ import annotations

import secrets
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
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, one_of

NO_ROWID = {"sqlite_with_rowid": False}


def new_id() -> str:
    """A random, non-sequential row id (128 bits, hex)."""
    return secrets.token_hex(16)


class PulsePoll(Base):
    """One run of an instrument for a team. Not personal data: ordinary ids and times."""

    __tablename__ = "pulse_polls"
    __table_args__ = (
        Index("ix_pulse_polls_team", "team_id", "instrument_id", "status"),
        # at most one open poll per team and instrument, whatever two replicas try at the same moment
        Index(
            "uq_pulse_polls_one_open",
            "team_id",
            "instrument_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
        one_of("status", ["open", "released", "withheld"], "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    instrument_id: Mapped[str] = mapped_column(String(64))
    instrument: Mapped[dict[str, Any]]  # a snapshot: the items answered are the items asked
    status: Mapped[str] = mapped_column(String(16))  # open | released | withheld
    min_responses: Mapped[int] = mapped_column(Integer)
    invited: Mapped[int] = mapped_column(Integer)
    remind_days: Mapped[list[int]] = mapped_column(JSON, default=list)
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    sides_recorded: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_at: Mapped[datetime]
    opened_local: Mapped[str] = mapped_column(String(19))  # wall-clock open time in the team's zone
    closes_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    respondents: Mapped[int | None] = mapped_column(Integer)  # kept at close, when participation goes
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    # the trend chart drawn at release (PNG, see storage/images.py); only ever read on its own
    chart_png: Mapped[bytes | None] = mapped_column(deferred=True, deferred_raiseload=True)  # LargeBinary


class PulseSealed(Base):
    """What one person submitted to an open poll, sealed (storage/sealing.py). Deleted at close."""

    __tablename__ = "pulse_sealed"
    __table_args__ = NO_ROWID

    poll_id: Mapped[int] = mapped_column(ForeignKey("pulse_polls.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class PulseBallot(Base):
    """One submission: no person, no time, a random id."""

    __tablename__ = "pulse_ballots"
    __table_args__ = (
        Index("ix_pulse_ballots_poll", "poll_id"),
        one_of("side_group", ["labor", "management"], "side_group"),
        NO_ROWID,
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    poll_id: Mapped[int] = mapped_column(ForeignKey("pulse_polls.id", ondelete="CASCADE"))
    side_group: Mapped[str | None] = mapped_column(String(16))


class PulseAnswer(Base):
    """One item's value on one ballot."""

    __tablename__ = "pulse_answers"
    __table_args__ = (Index("ix_pulse_answers_poll", "poll_id", "component_id", "item_id"), NO_ROWID)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    ballot_id: Mapped[str] = mapped_column(ForeignKey("pulse_ballots.id", ondelete="CASCADE"), index=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("pulse_polls.id", ondelete="CASCADE"))
    component_id: Mapped[str] = mapped_column(String(64))
    item_id: Mapped[str] = mapped_column(String(64))
    value: Mapped[int] = mapped_column(SmallInteger)


class PulseComment(Base):
    """A free-text comment. Not linked to its ballot: writing style must not lead to the answers."""

    __tablename__ = "pulse_comments"
    __table_args__ = (Index("ix_pulse_comments_poll", "poll_id"), NO_ROWID)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    poll_id: Mapped[int] = mapped_column(ForeignKey("pulse_polls.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)


class PulseTarget(Base):
    """A team target set after a release ("We will work on improving how we handle disagreements")."""

    __tablename__ = "pulse_targets"
    __table_args__ = (Index("ix_pulse_targets_team", "team_id", "instrument_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    instrument_id: Mapped[str] = mapped_column(String(64))
    after_poll_id: Mapped[int] = mapped_column(ForeignKey("pulse_polls.id", ondelete="CASCADE"))
    component_id: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    set_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    set_at: Mapped[datetime]

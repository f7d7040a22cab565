"""SQLAlchemy 2 models: the one database every replica shares.

Times are stored as timezone-aware UTC (`UtcDateTime`); schedule occurrences are keyed by their *local
wall-clock* time as text ("2026-11-01T01:30:00") so a DST repeat or gap can never make two keys.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both SQLite (which has no time zones) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime, dict[str, Any]: JSON}


class Side(enum.StrEnum):
    labor = "labor"
    management = "management"
    board = "board"
    community = "community"
    other = "other"


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(16), default="en")
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]

    memberships: Mapped[list[Membership]] = relationship(back_populates="team", cascade="all, delete-orphan")
    channels: Mapped[list[TeamChannel]] = relationship(back_populates="team", cascade="all, delete-orphan")


class Person(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    timezone: Mapped[str | None] = mapped_column(String(64))
    # The language this person reads Tandem in, overriding their team's (`Team.language`); None: the team's.
    language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime]

    identities: Mapped[list[Identity]] = relationship(back_populates="person", cascade="all, delete-orphan")


class Identity(Base):
    """A person's account on one platform. One person may have a Slack, a Teams and a local identity."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("platform", "workspace", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    workspace: Mapped[str] = mapped_column(String(100), default="")
    user_id: Mapped[str] = mapped_column(String(200))
    dm_address: Mapped[str | None] = mapped_column(String(300))

    person: Mapped[Person] = relationship(back_populates="identities")


def one_of(column: str, values: Iterable[str], name: str) -> CheckConstraint:
    """A CHECK that `column` holds one of `values` (the database refuses anything else)."""
    quoted = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name)


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("team_id", "person_id"),
        one_of("side", [s.value for s in Side], "side"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    side: Mapped[str] = mapped_column(String(16))
    co_chair: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    joined_at: Mapped[datetime]
    # The name this team knows the person by (its team file, or the platform's); None: `Person.display_name`.
    display_name: Mapped[str | None] = mapped_column(String(200))

    team: Mapped[Team] = relationship(back_populates="memberships")
    person: Mapped[Person] = relationship()


class TeamChannel(Base):
    """A channel a team posts to. A channel belongs to one team: a command typed there has one answer."""

    __tablename__ = "team_channels"
    __table_args__ = (UniqueConstraint("platform", "workspace", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    workspace: Mapped[str] = mapped_column(String(100), default="")
    address: Mapped[str] = mapped_column(String(300))
    name: Mapped[str | None] = mapped_column(String(200))

    team: Mapped[Team] = relationship(back_populates="channels")


class Schedule(Base):
    """A recurring thing a flow does. The database is the source of truth; replicas only tick."""

    __tablename__ = "schedules"
    __table_args__ = (Index("ix_schedules_due", "enabled", "next_fire_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    rrule: Mapped[str] = mapped_column(Text)
    dtstart_local: Mapped[str] = mapped_column(String(19))
    timezone: Mapped[str] = mapped_column(String(64))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    next_occurrence_local: Mapped[str | None] = mapped_column(String(19))
    next_fire_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class OccurrenceClaim(Base):
    """Proof that one occurrence of a schedule ran (or was skipped) — exactly once across replicas."""

    __tablename__ = "occurrence_claims"
    __table_args__ = (UniqueConstraint("schedule_id", "occurrence_local"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"))
    occurrence_local: Mapped[str] = mapped_column(String(19))
    status: Mapped[str] = mapped_column(String(16))  # ran | skipped
    claimed_by: Mapped[str] = mapped_column(String(100))
    claimed_at: Mapped[datetime]


class OutboxStatus(enum.StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"


class OutboxMessage(Base):
    """A message waiting to be sent (or sent). Written in the same transaction as the state it reports."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_ready", "status", "next_attempt_at"),
        one_of("status", [s.value for s in OutboxStatus], "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    target: Mapped[dict[str, Any]]  # platform address: {"address": ..., "thread": ..., "private_to": ...}
    payload: Mapped[dict[str, Any] | None]  # the Card as JSON; scrubbed after send when sensitive
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    platform_ref: Mapped[str | None] = mapped_column(String(300))
    message_key: Mapped[str | None] = mapped_column(String(200), index=True)
    replaces_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class FlowState(Base):
    """Per-flow state that must survive restarts (a conversation spanning days, rotation counters)."""

    __tablename__ = "flow_state"
    __table_args__ = (UniqueConstraint("flow", "team_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    flow: Mapped[str] = mapped_column(String(64))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class RoleAssignment(Base):
    """Who holds a meeting role (facilitator, note-taker, timekeeper) at one meeting; passes are kept."""

    __tablename__ = "role_assignments"
    __table_args__ = (Index("ix_role_assignments_team", "team_id", "occurrence_local"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    occurrence_local: Mapped[str] = mapped_column(String(19))
    role: Mapped[str] = mapped_column(String(32))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    passed: Mapped[bool] = mapped_column(Boolean, default=False)
    assigned_at: Mapped[datetime]


class ProcessedEvent(Base):
    """Inbound idempotency: a platform retry or a double click is recorded once."""

    __tablename__ = "processed_events"
    __table_args__ = (Index("ix_processed_events_processed_at", "processed_at"),)  # the hourly prune

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    processed_at: Mapped[datetime]


class AuditEntry(Base):
    """Team-level actions: who changed what, when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), index=True)
    actor_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]]
    at: Mapped[datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)

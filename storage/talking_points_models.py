"""Joint talking points, their approvals, and the decision log with its reopen votes.

- `talking_point_sets`: one row per draft, published set or one-side update. A joint set is a draft until
  one labor and one management co-chair have approved the same text, then published; nothing published is
  edited again (a correction is a new set pointing at the one it corrects). `revision` counts edits.
- `talking_point_approvals`: who approved which exact text (the hash of the version they saw). An edit
  deletes a draft's approvals (the audit log keeps the record); a published set keeps its own.
- `decisions`: the decision log, each with its level on the 7-point continuum and whose "my" it is.
- `decision_reopen_requests` / `decision_reopen_votes`: a member's request to reopen a decision with new
  information, and the team's vote on it (one vote a person).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, one_of

SET_KINDS = ("joint", "labor", "management")
SET_STATUSES = ("draft", "published", "withdrawn")


class TalkingPointSet(Base):
    __tablename__ = "talking_point_sets"
    __table_args__ = (
        one_of("kind", SET_KINDS, "kind"),
        one_of("status", SET_STATUSES, "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    points: Mapped[list[str]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    channels: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{platform, address, name}]
    decision_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("talking_point_sets.id", ondelete="SET NULL"))
    proposed_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    published_at: Mapped[datetime | None]
    published_local_date: Mapped[str | None] = mapped_column(String(10))  # in the team's zone, ISO
    withdrawn_at: Mapped[datetime | None]


class TalkingPointApproval(Base):
    __tablename__ = "talking_point_approvals"
    __table_args__ = (UniqueConstraint("set_id", "person_id", "text_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("talking_point_sets.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(200))  # as the person was named when they approved
    side: Mapped[str] = mapped_column(String(16))
    text_hash: Mapped[str] = mapped_column(String(64))
    approved_at: Mapped[datetime]


class Decision(Base):
    __tablename__ = "decisions"
    __table_args__ = (
        one_of("status", ("standing", "reopened"), "status"),
        one_of("my_side", ("labor", "management"), "my_side"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    level: Mapped[int] = mapped_column(SmallInteger)
    my_side: Mapped[str] = mapped_column(String(16))  # whose "MY" the level's wording means
    decided_by: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{name, side}]
    reasons: Mapped[str] = mapped_column(Text)
    meeting: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="standing")
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime]


class DecisionReopenRequest(Base):
    __tablename__ = "decision_reopen_requests"
    __table_args__ = (one_of("status", ("open", "passed", "failed"), "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id", ondelete="CASCADE"), index=True)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    information: Mapped[str] = mapped_column(Text)
    electorate: Mapped[int] = mapped_column(Integer)  # the team's members when the vote opened
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


class DecisionReopenVote(Base):
    __tablename__ = "decision_reopen_votes"
    __table_args__ = (UniqueConstraint("request_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("decision_reopen_requests.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    agrees: Mapped[bool] = mapped_column(Boolean)
    voted_at: Mapped[datetime]

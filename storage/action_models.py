"""Action items: promises with owners and due dates, their history and the reminders already sent.

- `action_items`: one promise of a team. `next_remind_at` is the earliest instant a reminder of the item may
  be due (NULL when none can be); the scheduler pass reads the open items through its index, so a tick
  costs what is due, not what exists.
- `action_owners`: who promised it (one or more, from any side); `touched_at` is the owner's last update,
  which silences reminders for a day; `confirmed_at` is their one-click "yes, mine" after a meeting.
- `action_history`: every change, who made it and when (the export carries it).
- `action_reminders`: one row per reminder slot and owner, written in the transaction that writes the
  message to the outbox (or decides to stay silent); its unique key makes every reminder go out once.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base

TITLE_MAX = 200  # a promise fits on one line; longer is refused in chat with the limit named


class ActionItem(Base):
    __tablename__ = "action_items"
    __table_args__ = (
        Index("ix_action_items_team_status", "team_id", "status", "due"),
        Index("ix_action_items_next_remind", "next_remind_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | done | dropped
    due: Mapped[date] = mapped_column(Date)
    meeting_local: Mapped[str | None] = mapped_column(String(19))  # the meeting it came from, if any
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(TITLE_MAX))
    reason: Mapped[str | None] = mapped_column(String(TITLE_MAX))
    next_remind_at: Mapped[datetime | None]


class ActionOwner(Base):
    __tablename__ = "action_owners"
    __table_args__ = (UniqueConstraint("item_id", "person_id", name="uq_action_owners_item_person"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("action_items.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    touched_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]


class ActionHistory(Base):
    __tablename__ = "action_history"
    __table_args__ = (Index("ix_action_history_item", "item_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("action_items.id", ondelete="CASCADE"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    at: Mapped[datetime]
    what: Mapped[str] = mapped_column(String(32))  # created | done | dropped | reopened | due | title | ...
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ActionReminder(Base):
    __tablename__ = "action_reminders"
    __table_args__ = (
        UniqueConstraint("item_id", "person_id", "slot", name="uq_action_reminders_item_person_slot"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("action_items.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    slot: Mapped[str] = mapped_column(String(40))  # "before:2026-12-04", "due:…", "overdue2:…"
    status: Mapped[str] = mapped_column(String(16))  # sent | quiet (updated in the last day)
    at: Mapped[datetime]


__all__ = ["TITLE_MAX", "ActionHistory", "ActionItem", "ActionOwner", "ActionReminder"]

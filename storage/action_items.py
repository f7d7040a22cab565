"""Action items: queries and changes. Flows get frozen values and say what to change by calling these.

Every change writes a history row (who, when, what) in the caller's transaction. The reminder pass reads
open items through `ix_action_items_next_remind` and marks each reminder slot once (`mark_reminder`, a
unique key), in the transaction that writes the message to the outbox.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.action_models import TITLE_MAX, ActionHistory, ActionItem, ActionOwner, ActionReminder
from storage.models import OutboxMessage, OutboxStatus, Person
from storage.sql import dialect_name, insert_ignore

OPEN, DONE, DROPPED = "open", "done", "dropped"
__all__ = [
    "DONE",
    "DROPPED",
    "OPEN",
    "TITLE_MAX",
    "DoneItem",
    "HistoryEntry",
    "ItemView",
    "Owner",
    "done_since",
]


@dataclass(frozen=True)
class Owner:
    person_id: int
    name: str
    touched_at: datetime | None = None
    confirmed_at: datetime | None = None


@dataclass(frozen=True)
class ItemView:
    id: int
    team_id: int
    title: str
    status: str
    due: date
    owners: tuple[Owner, ...]
    created_at: datetime
    updated_at: datetime
    created_by: int | None = None
    done_at: datetime | None = None
    outcome: str | None = None
    reason: str | None = None
    meeting_local: str | None = None
    next_remind_at: datetime | None = None

    @property
    def owner_ids(self) -> tuple[int, ...]:
        return tuple(o.person_id for o in self.owners)

    @property
    def owner_names(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.owners)


@dataclass(frozen=True)
class DoneItem:
    """A promise kept: what the talking points suggest (`done_since`)."""

    id: int
    title: str
    owners: tuple[str, ...]
    done_at: datetime
    outcome: str | None


@dataclass(frozen=True)
class HistoryEntry:
    item_id: int
    at: datetime
    person_id: int | None
    who: str | None
    what: str
    detail: dict[str, Any]


# ---------------------------------------------------------------- reading


async def _owners(session: AsyncSession, item_ids: Sequence[int]) -> dict[int, list[Owner]]:
    if not item_ids:
        return {}
    stmt = (
        select(
            ActionOwner.item_id,
            ActionOwner.person_id,
            Person.display_name,
            ActionOwner.touched_at,
            ActionOwner.confirmed_at,
        )
        .join(Person, Person.id == ActionOwner.person_id)
        .where(ActionOwner.item_id.in_(list(item_ids)))
        .order_by(ActionOwner.item_id, ActionOwner.position, ActionOwner.id)
    )
    out: dict[int, list[Owner]] = {}
    for item_id, person_id, name, touched, confirmed in (await session.execute(stmt)).all():
        out.setdefault(item_id, []).append(Owner(person_id, name, touched, confirmed))
    return out


def _view(row: ActionItem, owners: Iterable[Owner]) -> ItemView:
    return ItemView(
        id=row.id,
        team_id=row.team_id,
        title=row.title,
        status=row.status,
        due=row.due,
        owners=tuple(owners),
        created_at=row.created_at,
        updated_at=row.updated_at,
        created_by=row.created_by,
        done_at=row.done_at,
        outcome=row.outcome,
        reason=row.reason,
        meeting_local=row.meeting_local,
        next_remind_at=row.next_remind_at,
    )


async def _views(session: AsyncSession, rows: Sequence[ActionItem]) -> list[ItemView]:
    owners = await _owners(session, [r.id for r in rows])
    return [_view(r, owners.get(r.id, ())) for r in rows]


async def get_item(session: AsyncSession, item_id: int, *, lock: bool = False) -> ItemView | None:
    """One item; `lock`: held for this transaction on PostgreSQL (two clicks on two replicas serialise)."""
    stmt = select(ActionItem).where(ActionItem.id == item_id)
    if lock and dialect_name(session) == "postgresql":
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).scalar_one_or_none()
    return None if row is None else (await _views(session, [row]))[0]


async def open_items(session: AsyncSession, team_id: int) -> list[ItemView]:
    """The team's open items, soonest due first."""
    stmt = (
        select(ActionItem)
        .where(ActionItem.team_id == team_id, ActionItem.status == OPEN)
        .order_by(ActionItem.due, ActionItem.id)
    )
    return await _views(session, list((await session.execute(stmt)).scalars()))


async def open_for_person(session: AsyncSession, team_id: int, person_id: int) -> list[ItemView]:
    """The open items `person_id` owns on the team, soonest due first."""
    stmt = (
        select(ActionItem)
        .join(ActionOwner, ActionOwner.item_id == ActionItem.id)
        .where(ActionItem.team_id == team_id, ActionItem.status == OPEN, ActionOwner.person_id == person_id)
        .order_by(ActionItem.due, ActionItem.id)
    )
    return await _views(session, list((await session.execute(stmt)).scalars()))


async def due_by(session: AsyncSession, team_id: int, day: date) -> list[ItemView]:
    """Open items due on or before `day` (the meeting reminder lists them), soonest first."""
    stmt = (
        select(ActionItem)
        .where(ActionItem.team_id == team_id, ActionItem.status == OPEN, ActionItem.due <= day)
        .order_by(ActionItem.due, ActionItem.id)
    )
    return await _views(session, list((await session.execute(stmt)).scalars()))


async def created_since(session: AsyncSession, team_id: int, since: datetime) -> list[ItemView]:
    stmt = (
        select(ActionItem)
        .where(ActionItem.team_id == team_id, ActionItem.created_at >= since)
        .order_by(ActionItem.id)
    )
    return await _views(session, list((await session.execute(stmt)).scalars()))


async def all_items(session: AsyncSession, team_id: int) -> list[ItemView]:
    stmt = select(ActionItem).where(ActionItem.team_id == team_id).order_by(ActionItem.id)
    return await _views(session, list((await session.execute(stmt)).scalars()))


async def due_between(session: AsyncSession, team_id: int, first: date, last: date) -> list[ItemView]:
    """Items of every status due in [first, last] (the follow-through rate's quarter)."""
    stmt = (
        select(ActionItem)
        .where(ActionItem.team_id == team_id, ActionItem.due >= first, ActionItem.due <= last)
        .order_by(ActionItem.due, ActionItem.id)
    )
    return await _views(session, list((await session.execute(stmt)).scalars()))


async def done_since(session: AsyncSession, team_id: int, since: datetime | None) -> list[DoneItem]:
    """Items marked done after `since` (all of them when None), in the order they were done: promises
    kept, to suggest as talking points."""
    stmt = select(ActionItem).where(ActionItem.team_id == team_id, ActionItem.status == DONE)
    if since is not None:
        stmt = stmt.where(ActionItem.done_at > since)
    rows = list((await session.execute(stmt.order_by(ActionItem.done_at, ActionItem.id))).scalars())
    views = await _views(session, rows)
    return [
        DoneItem(v.id, v.title, v.owner_names, v.done_at, v.outcome) for v in views if v.done_at is not None
    ]


async def history(session: AsyncSession, item_ids: Sequence[int]) -> list[HistoryEntry]:
    """Every change of these items, oldest first, with who made it."""
    if not item_ids:
        return []
    stmt = (
        select(ActionHistory, Person.display_name)
        .outerjoin(Person, Person.id == ActionHistory.person_id)
        .where(ActionHistory.item_id.in_(list(item_ids)))
        .order_by(ActionHistory.item_id, ActionHistory.id)
    )
    return [
        HistoryEntry(h.item_id, h.at, h.person_id, name, h.what, dict(h.detail or {}))
        for h, name in (await session.execute(stmt)).all()
    ]


# ---------------------------------------------------------------- changing


def _record(
    session: AsyncSession, item_id: int, by: int | None, now: datetime, what: str, **detail: Any
) -> None:
    session.add(ActionHistory(item_id=item_id, person_id=by, at=now, what=what, detail=detail))


async def create_item(
    session: AsyncSession,
    *,
    team_id: int,
    title: str,
    due: date,
    owners: Sequence[int],
    by: int | None,
    now: datetime,
    meeting_local: str | None = None,
) -> int:
    """A new open item; its first reminder pass is due at once (the pass works out the real times)."""
    row = ActionItem(
        team_id=team_id,
        title=title,
        status=OPEN,
        due=due,
        meeting_local=meeting_local,
        created_by=by,
        created_at=now,
        updated_at=now,
        next_remind_at=now,
    )
    session.add(row)
    await session.flush()
    for position, person_id in enumerate(owners):
        session.add(ActionOwner(item_id=row.id, person_id=person_id, position=position))
    _record(
        session,
        row.id,
        by,
        now,
        "created",
        title=title,
        due=due.isoformat(),
        owners=list(owners),
        **({"meeting": meeting_local} if meeting_local else {}),
    )
    await session.flush()
    return row.id


async def _touch(session: AsyncSession, item_id: int, by: int | None, now: datetime) -> None:
    """The item changed: an owner who changed it is not reminded for a day (a reminder of theirs already
    prepared and waiting for its hour is withdrawn)."""
    values: dict[str, Any] = {"updated_at": now}
    await session.execute(update(ActionItem).where(ActionItem.id == item_id).values(**values))
    if by is not None:
        await session.execute(
            update(ActionOwner)
            .where(ActionOwner.item_id == item_id, ActionOwner.person_id == by)
            .values(touched_at=now)
        )
        await withdraw_reminders(session, item_id, by)


def reminder_key(item_id: int, person_id: int, slot: str) -> str:
    """The outbox message key of one prepared reminder (so a change can withdraw it before it goes)."""
    return f"actions.remind:{item_id}:{person_id}:{slot}"


async def withdraw_reminders(session: AsyncSession, item_id: int, person_id: int | None = None) -> int:
    """Delete the item's reminders still waiting in the outbox (one owner's, or all), and record their
    slots as withdrawn: the item was done, dropped, given a new date, or updated by that owner."""
    prefix = f"actions.remind:{item_id}:" + (f"{person_id}:" if person_id is not None else "")
    waiting = OutboxMessage.message_key.startswith(prefix, autoescape=True)
    pending = OutboxMessage.status == OutboxStatus.pending
    keys = list((await session.execute(select(OutboxMessage.message_key).where(waiting, pending))).scalars())
    if not keys:
        return 0
    await session.execute(delete(OutboxMessage).where(waiting, pending))
    for key in keys:
        _, _, person, slot = (key or "").split(":", 3)
        await session.execute(
            update(ActionReminder)
            .where(
                ActionReminder.item_id == item_id,
                ActionReminder.person_id == int(person),
                ActionReminder.slot == slot,
            )
            .values(status="withdrawn")
        )
    return len(keys)


async def set_status(
    session: AsyncSession,
    item_id: int,
    status: str,
    *,
    by: int | None,
    now: datetime,
    note: str | None = None,
) -> None:
    """open → done (note: the outcome), open → dropped (note: the reason), done/dropped → open."""
    values: dict[str, Any] = {"status": status}
    if status == DONE:
        values.update(done_at=now, outcome=note, reason=None, next_remind_at=None)
    elif status == DROPPED:
        values.update(reason=note, outcome=None, done_at=None, next_remind_at=None)
    else:
        values.update(done_at=None, outcome=None, reason=None, next_remind_at=now)
    await session.execute(update(ActionItem).where(ActionItem.id == item_id).values(**values))
    if status != OPEN:
        await withdraw_reminders(session, item_id)
    what = {DONE: "done", DROPPED: "dropped", OPEN: "reopened"}[status]
    _record(session, item_id, by, now, what, **({"note": note} if note else {}))
    await _touch(session, item_id, by, now)


async def set_due(session: AsyncSession, item_id: int, due: date, *, by: int | None, now: datetime) -> None:
    old = (await session.execute(select(ActionItem.due).where(ActionItem.id == item_id))).scalar_one()
    await session.execute(
        update(ActionItem).where(ActionItem.id == item_id).values(due=due, next_remind_at=now)
    )
    await withdraw_reminders(session, item_id)
    _record(session, item_id, by, now, "due", before=old.isoformat(), after=due.isoformat())
    await _touch(session, item_id, by, now)


async def set_title(
    session: AsyncSession, item_id: int, title: str, *, by: int | None, now: datetime
) -> None:
    old = (await session.execute(select(ActionItem.title).where(ActionItem.id == item_id))).scalar_one()
    await session.execute(update(ActionItem).where(ActionItem.id == item_id).values(title=title))
    _record(session, item_id, by, now, "title", before=old, after=title)
    await _touch(session, item_id, by, now)


async def add_note(session: AsyncSession, item_id: int, note: str, *, by: int | None, now: datetime) -> None:
    """A progress note from an owner or a co-chair (the Update form)."""
    _record(session, item_id, by, now, "note", note=note)
    await _touch(session, item_id, by, now)


async def confirm(session: AsyncSession, item_id: int, person_id: int, now: datetime) -> bool:
    """The owner's one-click "yes, mine"; False when they had confirmed already (nothing written)."""
    result = await session.execute(
        update(ActionOwner)
        .where(
            ActionOwner.item_id == item_id,
            ActionOwner.person_id == person_id,
            ActionOwner.confirmed_at.is_(None),
        )
        .values(confirmed_at=now, touched_at=now)
    )
    if not getattr(result, "rowcount", 0):
        return False
    await withdraw_reminders(session, item_id, person_id)
    _record(session, item_id, person_id, now, "confirmed")
    return True


# ---------------------------------------------------------------- reminders


async def lock_due_for_reminders(session: AsyncSession, now: datetime, limit: int) -> list[ItemView]:
    """Open items whose next reminder may be due, through the index; locked on PostgreSQL so replicas
    take different ones."""
    stmt = (
        select(ActionItem)
        .where(ActionItem.next_remind_at <= now, ActionItem.status == OPEN)
        .order_by(ActionItem.next_remind_at, ActionItem.id)
        .limit(limit)
    )
    if dialect_name(session) == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return await _views(session, list((await session.execute(stmt)).scalars()))


async def marked_slots(session: AsyncSession, item_ids: Sequence[int]) -> set[tuple[int, int, str]]:
    """(item, person, slot) of every reminder already decided for these items."""
    if not item_ids:
        return set()
    stmt = select(ActionReminder.item_id, ActionReminder.person_id, ActionReminder.slot).where(
        ActionReminder.item_id.in_(list(item_ids))
    )
    return {(i, p, s) for i, p, s in (await session.execute(stmt)).all()}


async def mark_reminder(
    session: AsyncSession, item_id: int, person_id: int, slot: str, status: str, now: datetime
) -> bool:
    """Decide one reminder slot for one owner, once: False when it was decided already."""
    values = {"item_id": item_id, "person_id": person_id, "slot": slot, "status": status, "at": now}
    return await insert_ignore(session, ActionReminder, values)


async def set_next_remind(session: AsyncSession, item_id: int, when: datetime | None) -> None:
    await session.execute(update(ActionItem).where(ActionItem.id == item_id).values(next_remind_at=when))


async def reminder_counts(session: AsyncSession) -> dict[str, int]:
    """How many reminder slots were decided, by status (the benchmark counts them)."""
    stmt = select(ActionReminder.status, func.count()).group_by(ActionReminder.status)
    return {status: int(n) for status, n in (await session.execute(stmt)).all()}


# ---------------------------------------------------------------- follow-through


@dataclass(frozen=True)
class FollowThrough:
    """One quarter of a team's promises: `met` of `due` were done by their due date (the team's local
    date); `dropped` (each with its reason) are counted apart, not in `due`; `late` were done after;
    `upcoming` are still open and due later in the quarter: not counted until their day comes (an open
    promise due next month is not a promise missed)."""

    first: date
    last: date
    due: int
    met: int
    late: int
    dropped: int
    upcoming: int = 0

    @property
    def rate(self) -> float | None:
        return self.met / self.due if self.due else None


def quarter_bounds(day: date) -> tuple[date, date]:
    """The first and last day of `day`'s calendar quarter."""
    first = date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    following = date(first.year + (first.month + 2) // 12, (first.month + 2) % 12 + 1, 1)
    return first, date.fromordinal(following.toordinal() - 1)


def count_follow_through(
    items: Sequence[ItemView], first: date, last: date, timezone: str, today: date | None = None
) -> FollowThrough:
    """Pure: the rate over `items` due in [first, last]; "done by the due date" in `timezone`; an open
    item due after `today` is upcoming, not yet due."""
    tz = ZoneInfo(timezone)
    due = met = late = dropped = upcoming = 0
    for item in items:
        if not first <= item.due <= last:
            continue
        if item.status == DROPPED:
            dropped += 1
            continue
        if today is not None and item.due > today and item.status != DONE:
            upcoming += 1
            continue
        due += 1
        if item.status == DONE and item.done_at is not None:
            if item.done_at.astimezone(tz).date() <= item.due:
                met += 1
            else:
                late += 1
    return FollowThrough(first, last, due, met, late, dropped, upcoming)


async def follow_through(session: AsyncSession, team_id: int, day: date, timezone: str) -> FollowThrough:
    """The follow-through of the quarter holding `day`, as of `day` (the trust report and `actions stats`
    read it)."""
    first, last = quarter_bounds(day)
    items = await due_between(session, team_id, first, last)
    return count_follow_through(items, first, last, timezone, today=day)


async def recheck_team(session: AsyncSession, team_id: int, now: datetime) -> None:
    """The team's reminder policy changed: every open item is looked at again on the next pass."""
    await session.execute(
        update(ActionItem)
        .where(ActionItem.team_id == team_id, ActionItem.status == OPEN)
        .values(next_remind_at=now)
    )

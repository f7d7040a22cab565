"""Talking-point sets and their approvals, as frozen values; the flow says what to store through these.

Publishing happens exactly once whatever two replicas do at the same moment: an approval locks the set's
row (`FOR UPDATE` on PostgreSQL; SQLite runs one writer at a time), and `mark_published` changes the
status only from "draft", reporting whether this transaction was the one that did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.talking_points_models import TalkingPointApproval, TalkingPointSet

DRAFT, PUBLISHED, WITHDRAWN = "draft", "published", "withdrawn"
JOINT = "joint"


@dataclass(frozen=True)
class Channel:
    platform: str
    address: str
    name: str | None = None

    def to_data(self) -> dict[str, Any]:
        return {"platform": self.platform, "address": self.address, "name": self.name}


@dataclass(frozen=True)
class Approval:
    person_id: int | None
    name: str
    side: str
    text_hash: str
    approved_at: datetime


@dataclass(frozen=True)
class PointSet:
    id: int
    team_id: int
    kind: str  # joint | labor | management
    status: str  # draft | published | withdrawn
    revision: int
    points: tuple[str, ...]
    note: str | None
    channels: tuple[Channel, ...]
    decision_ids: tuple[int, ...]
    corrects_id: int | None
    proposed_by: int | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    published_local_date: str | None
    approvals: tuple[Approval, ...] = ()


def _channel(data: dict[str, Any]) -> Channel:
    return Channel(str(data["platform"]), str(data["address"]), data.get("name"))


def _value(row: TalkingPointSet, approvals: Sequence[TalkingPointApproval]) -> PointSet:
    return PointSet(
        id=row.id,
        team_id=row.team_id,
        kind=row.kind,
        status=row.status,
        revision=row.revision,
        points=tuple(row.points or ()),
        note=row.note,
        channels=tuple(_channel(c) for c in row.channels or ()),
        decision_ids=tuple(int(i) for i in row.decision_ids or ()),
        corrects_id=row.corrects_id,
        proposed_by=row.proposed_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        published_at=row.published_at,
        published_local_date=row.published_local_date,
        approvals=tuple(
            Approval(a.person_id, a.name, a.side, a.text_hash, a.approved_at)
            for a in sorted(approvals, key=lambda a: a.id)
        ),
    )


async def _approvals(session: AsyncSession, set_ids: Sequence[int]) -> dict[int, list[TalkingPointApproval]]:
    found: dict[int, list[TalkingPointApproval]] = {i: [] for i in set_ids}
    if set_ids:
        stmt = select(TalkingPointApproval).where(TalkingPointApproval.set_id.in_(list(set_ids)))
        for row in (await session.execute(stmt)).scalars():
            found[row.set_id].append(row)
    return found


async def get(session: AsyncSession, set_id: int, *, lock: bool = False) -> PointSet | None:
    """The set `set_id` with its approvals; `lock` holds its row until the transaction ends (PostgreSQL),
    so two approvals of one set run one after the other."""
    stmt = select(TalkingPointSet).where(TalkingPointSet.id == set_id)
    if lock:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt.execution_options(populate_existing=True))).scalar_one_or_none()
    if row is None:
        return None
    return _value(row, (await _approvals(session, [row.id]))[row.id])


async def current_draft(session: AsyncSession, team_id: int) -> PointSet | None:
    """The team's open joint draft (the newest, should there be two)."""
    stmt = (
        select(TalkingPointSet.id)
        .where(TalkingPointSet.team_id == team_id, TalkingPointSet.status == DRAFT)
        .order_by(TalkingPointSet.id.desc())
        .limit(1)
    )
    set_id = (await session.execute(stmt)).scalar_one_or_none()
    return await get(session, set_id) if set_id is not None else None


async def published(session: AsyncSession, team_id: int) -> list[PointSet]:
    """Every published set of the team (joint and one-side), oldest first, with their approvals."""
    stmt = (
        select(TalkingPointSet)
        .where(TalkingPointSet.team_id == team_id, TalkingPointSet.status == PUBLISHED)
        .order_by(TalkingPointSet.published_at, TalkingPointSet.id)
    )
    rows = list((await session.execute(stmt)).scalars())
    approvals = await _approvals(session, [r.id for r in rows])
    return [_value(r, approvals[r.id]) for r in rows]


async def all_sets(session: AsyncSession, team_id: int) -> list[PointSet]:
    """Every set of the team, drafts and withdrawn ones too, oldest first (the export)."""
    stmt = select(TalkingPointSet).where(TalkingPointSet.team_id == team_id).order_by(TalkingPointSet.id)
    rows = list((await session.execute(stmt)).scalars())
    approvals = await _approvals(session, [r.id for r in rows])
    return [_value(r, approvals[r.id]) for r in rows]


async def latest_published_at(session: AsyncSession, team_id: int) -> datetime | None:
    """When the team last published a joint set (done action items since then are offered)."""
    stmt = (
        select(TalkingPointSet.published_at)
        .where(
            TalkingPointSet.team_id == team_id,
            TalkingPointSet.status == PUBLISHED,
            TalkingPointSet.kind == JOINT,
        )
        .order_by(TalkingPointSet.published_at.desc())
        .limit(1)
    )
    value: datetime | None = (await session.execute(stmt)).scalar_one_or_none()
    return value


async def add(
    session: AsyncSession,
    *,
    team_id: int,
    kind: str,
    status: str,
    points: Sequence[str],
    note: str | None,
    channels: Sequence[Channel],
    decision_ids: Sequence[int] = (),
    corrects_id: int | None = None,
    proposed_by: int | None,
    now: datetime,
    published_local_date: str | None = None,
) -> int:
    """A new set; its id."""
    row = TalkingPointSet(
        team_id=team_id,
        kind=kind,
        status=status,
        revision=1,
        points=list(points),
        note=note,
        channels=[c.to_data() for c in channels],
        decision_ids=list(decision_ids),
        corrects_id=corrects_id,
        proposed_by=proposed_by,
        created_at=now,
        updated_at=now,
        published_at=now if status == PUBLISHED else None,
        published_local_date=published_local_date,
    )
    session.add(row)
    await session.flush()
    return row.id


async def edit(
    session: AsyncSession,
    set_id: int,
    *,
    points: Sequence[str],
    note: str | None,
    channels: Sequence[Channel],
    decision_ids: Sequence[int],
    now: datetime,
) -> list[Approval]:
    """Replace a draft's text, count a revision and clear its approvals; the approvals cleared."""
    before = await get(session, set_id)
    await session.execute(
        update(TalkingPointSet)
        .where(TalkingPointSet.id == set_id, TalkingPointSet.status == DRAFT)
        .values(
            points=list(points),
            note=note,
            channels=[c.to_data() for c in channels],
            decision_ids=list(decision_ids),
            revision=TalkingPointSet.revision + 1,
            updated_at=now,
        )
    )
    await session.execute(delete(TalkingPointApproval).where(TalkingPointApproval.set_id == set_id))
    return list(before.approvals) if before else []


async def approve(
    session: AsyncSession, set_id: int, *, person_id: int, name: str, side: str, text_hash: str, now: datetime
) -> None:
    session.add(
        TalkingPointApproval(
            set_id=set_id, person_id=person_id, name=name, side=side, text_hash=text_hash, approved_at=now
        )
    )
    await session.flush()


async def mark_published(session: AsyncSession, set_id: int, now: datetime, local_date: str) -> bool:
    """Draft → published; True only for the one transaction that made the change."""
    result = await session.execute(
        update(TalkingPointSet)
        .where(TalkingPointSet.id == set_id, TalkingPointSet.status == DRAFT)
        .values(status=PUBLISHED, published_at=now, published_local_date=local_date, updated_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


async def withdraw(session: AsyncSession, set_id: int, now: datetime) -> bool:
    """Draft → withdrawn; False if it was no longer a draft."""
    result = await session.execute(
        update(TalkingPointSet)
        .where(TalkingPointSet.id == set_id, TalkingPointSet.status == DRAFT)
        .values(status=WITHDRAWN, withdrawn_at=now, updated_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1

"""The decision log and its reopen votes, as frozen values.

A reopen vote is counted with the request's row locked (PostgreSQL `FOR UPDATE`), so two last votes at
the same moment settle it once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.talking_points_models import Decision, DecisionReopenRequest, DecisionReopenVote


@dataclass(frozen=True)
class Decider:
    name: str
    side: str | None  # None: not a member of the team


@dataclass(frozen=True)
class DecisionView:
    id: int
    team_id: int
    text: str
    level: int
    my_side: str
    decided_by: tuple[Decider, ...]
    reasons: str
    meeting: str
    status: str  # standing | reopened
    recorded_by: int | None
    recorded_at: datetime


@dataclass(frozen=True)
class ReopenRequest:
    id: int
    decision_id: int
    requested_by: int | None
    information: str
    electorate: int
    status: str  # open | passed | failed
    opened_at: datetime
    agree: int = 0
    disagree: int = 0


def _view(row: Decision) -> DecisionView:
    return DecisionView(
        id=row.id,
        team_id=row.team_id,
        text=row.text,
        level=row.level,
        my_side=row.my_side,
        decided_by=tuple(Decider(str(d["name"]), d.get("side")) for d in row.decided_by or ()),
        reasons=row.reasons,
        meeting=row.meeting,
        status=row.status,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
    )


async def record(
    session: AsyncSession,
    *,
    team_id: int,
    text: str,
    level: int,
    my_side: str,
    decided_by: Sequence[Decider],
    reasons: str,
    meeting: str,
    recorded_by: int | None,
    now: datetime,
) -> int:
    row = Decision(
        team_id=team_id,
        text=text,
        level=level,
        my_side=my_side,
        decided_by=[{"name": d.name, "side": d.side} for d in decided_by],
        reasons=reasons,
        meeting=meeting,
        status="standing",
        recorded_by=recorded_by,
        recorded_at=now,
    )
    session.add(row)
    await session.flush()
    return row.id


async def for_team(session: AsyncSession, team_id: int) -> list[DecisionView]:
    stmt = select(Decision).where(Decision.team_id == team_id).order_by(Decision.id)
    return [_view(r) for r in (await session.execute(stmt)).scalars()]


async def get(session: AsyncSession, team_id: int, decision_id: int) -> DecisionView | None:
    stmt = select(Decision).where(Decision.team_id == team_id, Decision.id == decision_id)
    row = (await session.execute(stmt)).scalar_one_or_none()
    return _view(row) if row is not None else None


async def get_any(session: AsyncSession, decision_id: int) -> DecisionView | None:
    row = await session.get(Decision, decision_id)
    return _view(row) if row is not None else None


async def open_request(
    session: AsyncSession,
    *,
    decision_id: int,
    requested_by: int | None,
    information: str,
    electorate: int,
    now: datetime,
) -> int:
    row = DecisionReopenRequest(
        decision_id=decision_id,
        requested_by=requested_by,
        information=information,
        electorate=electorate,
        status="open",
        opened_at=now,
    )
    session.add(row)
    await session.flush()
    return row.id


async def open_request_of(session: AsyncSession, decision_id: int) -> ReopenRequest | None:
    stmt = select(DecisionReopenRequest.id).where(
        DecisionReopenRequest.decision_id == decision_id, DecisionReopenRequest.status == "open"
    )
    request_id = (await session.execute(stmt)).scalar_one_or_none()
    return await request(session, request_id) if request_id is not None else None


async def request(session: AsyncSession, request_id: int, *, lock: bool = False) -> ReopenRequest | None:
    """A reopen request with its vote counts; `lock` holds its row until the transaction ends."""
    stmt = select(DecisionReopenRequest).where(DecisionReopenRequest.id == request_id)
    if lock:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt.execution_options(populate_existing=True))).scalar_one_or_none()
    if row is None:
        return None
    counts = select(DecisionReopenVote.agrees, func.count()).where(DecisionReopenVote.request_id == row.id)
    tally: dict[Any, int] = dict((await session.execute(counts.group_by(DecisionReopenVote.agrees))).all())
    return ReopenRequest(
        id=row.id,
        decision_id=row.decision_id,
        requested_by=row.requested_by,
        information=row.information,
        electorate=row.electorate,
        status=row.status,
        opened_at=row.opened_at,
        agree=int(tally.get(True, 0)),
        disagree=int(tally.get(False, 0)),
    )


async def has_voted(session: AsyncSession, request_id: int, person_id: int) -> bool:
    stmt = select(DecisionReopenVote.id).where(
        DecisionReopenVote.request_id == request_id, DecisionReopenVote.person_id == person_id
    )
    return (await session.execute(stmt)).first() is not None


async def vote(session: AsyncSession, request_id: int, person_id: int, agrees: bool, now: datetime) -> None:
    session.add(DecisionReopenVote(request_id=request_id, person_id=person_id, agrees=agrees, voted_at=now))
    await session.flush()


async def settle(
    session: AsyncSession, request_id: int, decision_id: int, passed: bool, now: datetime
) -> None:
    """Close the vote; a passed one reopens its decision."""
    await session.execute(
        update(DecisionReopenRequest)
        .where(DecisionReopenRequest.id == request_id, DecisionReopenRequest.status == "open")
        .values(status="passed" if passed else "failed", closed_at=now)
    )
    if passed:
        await session.execute(update(Decision).where(Decision.id == decision_id).values(status="reopened"))

"""Pulse poll queries. Aggregates are computed in SQL (GROUP BY, AVG, COUNT); no query here joins
participation to ballots, answers or comments, and no function returns an individual answer row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage, OutboxStatus
from storage.pulse_models import (
    PulseAnswer,
    PulseBallot,
    PulseComment,
    PulseParticipation,
    PulsePoll,
    PulseTarget,
    new_id,
)
from storage.sql import insert_ignore

OPEN, RELEASED, WITHHELD = "open", "released", "withheld"


@dataclass(frozen=True)
class ValueCount:
    component_id: str
    item_id: str
    value: int
    count: int


@dataclass(frozen=True)
class SideMean:
    side: str
    component_id: str
    mean: float


@dataclass(frozen=True)
class TrendPoint:
    poll_id: int
    closed_at: datetime
    component_id: str
    mean: float


# ---------------------------------------------------------------- polls


def add_poll(session: AsyncSession, **fields: Any) -> PulsePoll:
    poll = PulsePoll(reminders_sent=0, **fields)
    session.add(poll)
    return poll


async def poll_by_id(session: AsyncSession, poll_id: int) -> PulsePoll | None:
    return await session.get(PulsePoll, poll_id)


async def open_poll(session: AsyncSession, team_id: int) -> PulsePoll | None:
    stmt = select(PulsePoll).where(PulsePoll.team_id == team_id, PulsePoll.status == OPEN)
    return (await session.execute(stmt.order_by(PulsePoll.id.desc()).limit(1))).scalar_one_or_none()


async def closed_polls(
    session: AsyncSession, team_id: int, instrument_id: str | None = None, status: str | None = None
) -> list[PulsePoll]:
    """Closed polls (released or withheld), oldest first."""
    stmt = select(PulsePoll).where(PulsePoll.team_id == team_id, PulsePoll.status != OPEN)
    if instrument_id is not None:
        stmt = stmt.where(PulsePoll.instrument_id == instrument_id)
    if status is not None:
        stmt = stmt.where(PulsePoll.status == status)
    return list((await session.execute(stmt.order_by(PulsePoll.closed_at, PulsePoll.id))).scalars())


async def latest_released(session: AsyncSession, team_id: int) -> PulsePoll | None:
    stmt = (
        select(PulsePoll)
        .where(PulsePoll.team_id == team_id, PulsePoll.status == RELEASED)
        .order_by(PulsePoll.closed_at.desc(), PulsePoll.id.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def previous_released(session: AsyncSession, poll: PulsePoll) -> PulsePoll | None:
    """The last released poll of the same instrument for the same team, before `poll`."""
    stmt = (
        select(PulsePoll)
        .where(
            PulsePoll.team_id == poll.team_id,
            PulsePoll.instrument_id == poll.instrument_id,
            PulsePoll.status == RELEASED,
            PulsePoll.id != poll.id,
            PulsePoll.opened_at < poll.opened_at,
        )
        .order_by(PulsePoll.opened_at.desc(), PulsePoll.id.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


# ---------------------------------------------------------------- participation (who, never what)


async def mark_participated(session: AsyncSession, poll_id: int, person_id: int) -> bool:
    """Record that a person answered; False when they already had (a duplicate submit)."""
    return await insert_ignore(session, PulseParticipation, {"poll_id": poll_id, "person_id": person_id})


async def has_participated(session: AsyncSession, poll_id: int, person_id: int) -> bool:
    stmt = select(func.count()).where(
        PulseParticipation.poll_id == poll_id, PulseParticipation.person_id == person_id
    )
    return bool((await session.execute(stmt)).scalar_one())


async def participant_ids(session: AsyncSession, poll_id: int) -> set[int]:
    """For reminders only: the people who have answered an open poll (never shown to anyone)."""
    stmt = select(PulseParticipation.person_id).where(PulseParticipation.poll_id == poll_id)
    return set((await session.execute(stmt)).scalars())


async def participation_count(session: AsyncSession, poll_id: int) -> int:
    stmt = select(func.count()).where(PulseParticipation.poll_id == poll_id)
    return int((await session.execute(stmt)).scalar_one())


# ---------------------------------------------------------------- ballots


async def _add_answers(
    session: AsyncSession,
    poll_id: int,
    side_group: str | None,
    receipt_hash: str | None,
    answers: Sequence[tuple[str, str, int]],
    comment: str | None,
) -> None:
    ballot = PulseBallot(id=new_id(), poll_id=poll_id, side_group=side_group, receipt_hash=receipt_hash)
    session.add(ballot)
    await session.flush()  # the ballot row first: answers refer to it
    for component_id, item_id, value in answers:
        session.add(
            PulseAnswer(
                id=new_id(),
                ballot_id=ballot.id,
                poll_id=poll_id,
                component_id=component_id,
                item_id=item_id,
                value=value,
            )
        )
    if comment:
        session.add(PulseComment(id=new_id(), poll_id=poll_id, text=comment, receipt_hash=receipt_hash))


async def add_ballot(
    session: AsyncSession,
    *,
    poll_id: int,
    side_group: str | None,
    receipt_hash: str | None,
    answers: Sequence[tuple[str, str, int]],
    comment: str | None,
) -> None:
    """Store one submission: (component, item, value) answers and an optional comment, with no person."""
    await _add_answers(session, poll_id, side_group, receipt_hash, answers, comment)
    await session.flush()


async def replace_ballot(
    session: AsyncSession,
    *,
    poll_id: int,
    receipt_hash: str,
    answers: Sequence[tuple[str, str, int]],
    comment: str | None,
) -> bool:
    """Swap the ballot (and comment) holding `receipt_hash` for new answers; False if there is none."""
    stmt = select(PulseBallot.id, PulseBallot.side_group).where(
        PulseBallot.poll_id == poll_id, PulseBallot.receipt_hash == receipt_hash
    )
    found = (await session.execute(stmt)).one_or_none()
    if found is None:
        return False
    await session.execute(delete(PulseAnswer).where(PulseAnswer.ballot_id == found.id))
    await session.execute(delete(PulseBallot).where(PulseBallot.id == found.id))
    await session.execute(
        delete(PulseComment).where(PulseComment.poll_id == poll_id, PulseComment.receipt_hash == receipt_hash)
    )
    await session.flush()
    await _add_answers(session, poll_id, found.side_group, receipt_hash, answers, comment)
    await session.flush()
    return True


async def receipt_valid(session: AsyncSession, poll_id: int, receipt_hash: str) -> bool:
    stmt = select(func.count()).where(
        PulseBallot.poll_id == poll_id, PulseBallot.receipt_hash == receipt_hash
    )
    return bool((await session.execute(stmt)).scalar_one())


async def ballot_count(session: AsyncSession, poll_id: int) -> int:
    stmt = select(func.count()).select_from(PulseBallot).where(PulseBallot.poll_id == poll_id)
    return int((await session.execute(stmt)).scalar_one())


async def side_counts(session: AsyncSession, poll_id: int) -> dict[str | None, int]:
    """Ballots per side label (None: not labelled)."""
    stmt = (
        select(PulseBallot.side_group, func.count())
        .where(PulseBallot.poll_id == poll_id)
        .group_by(PulseBallot.side_group)
    )
    return {side: int(n) for side, n in (await session.execute(stmt)).all()}


# ---------------------------------------------------------------- closing


async def close(
    session: AsyncSession, poll: PulsePoll, *, now: datetime, status: str, keep_sides: bool, respondents: int
) -> None:
    """Close a poll: forget who answered, void every receipt, drop side labels that could single anyone
    out, and, when withheld, delete the answers (they can never be shown)."""
    await session.execute(delete(PulseParticipation).where(PulseParticipation.poll_id == poll.id))
    await session.execute(update(PulseBallot).where(PulseBallot.poll_id == poll.id).values(receipt_hash=None))
    await session.execute(
        update(PulseComment).where(PulseComment.poll_id == poll.id).values(receipt_hash=None)
    )
    if not keep_sides:
        await session.execute(
            update(PulseBallot).where(PulseBallot.poll_id == poll.id).values(side_group=None)
        )
    if status == WITHHELD:
        await session.execute(delete(PulseAnswer).where(PulseAnswer.poll_id == poll.id))
        await session.execute(delete(PulseComment).where(PulseComment.poll_id == poll.id))
        await session.execute(delete(PulseBallot).where(PulseBallot.poll_id == poll.id))
    poll.status = status
    poll.closed_at = now
    poll.respondents = respondents
    await session.flush()


# ---------------------------------------------------------------- aggregates (closed polls only)


async def value_counts(session: AsyncSession, poll_id: int) -> list[ValueCount]:
    """How many answered each value of each item: the distributions, and exact means, in one GROUP BY."""
    stmt = (
        select(PulseAnswer.component_id, PulseAnswer.item_id, PulseAnswer.value, func.count())
        .where(PulseAnswer.poll_id == poll_id)
        .group_by(PulseAnswer.component_id, PulseAnswer.item_id, PulseAnswer.value)
    )
    return [ValueCount(c, i, int(v), int(n)) for c, i, v, n in (await session.execute(stmt)).all()]


async def component_means(session: AsyncSession, poll_id: int) -> dict[str, float]:
    stmt = (
        select(PulseAnswer.component_id, func.avg(PulseAnswer.value))
        .where(PulseAnswer.poll_id == poll_id)
        .group_by(PulseAnswer.component_id)
    )
    return {c: float(m) for c, m in (await session.execute(stmt)).all()}


async def side_means(session: AsyncSession, poll_id: int) -> list[SideMean]:
    """Each labelled side's component means (labels survive close only where the view can be shown)."""
    stmt = (
        select(PulseBallot.side_group, PulseAnswer.component_id, func.avg(PulseAnswer.value))
        .join(PulseBallot, PulseBallot.id == PulseAnswer.ballot_id)
        .where(PulseAnswer.poll_id == poll_id, PulseBallot.side_group.is_not(None))
        .group_by(PulseBallot.side_group, PulseAnswer.component_id)
    )
    return [SideMean(str(s), c, float(m)) for s, c, m in (await session.execute(stmt)).all()]


async def comments(session: AsyncSession, poll_id: int) -> list[str]:
    stmt = select(PulseComment.text).where(PulseComment.poll_id == poll_id).order_by(PulseComment.id)
    return list((await session.execute(stmt)).scalars())


async def trend(session: AsyncSession, team_id: int, instrument_id: str) -> list[TrendPoint]:
    """Component means of every released poll of an instrument, oldest first."""
    stmt = (
        select(PulsePoll.id, PulsePoll.closed_at, PulseAnswer.component_id, func.avg(PulseAnswer.value))
        .join(PulseAnswer, PulseAnswer.poll_id == PulsePoll.id)
        .where(
            PulsePoll.team_id == team_id,
            PulsePoll.instrument_id == instrument_id,
            PulsePoll.status == RELEASED,
        )
        .group_by(PulsePoll.id, PulsePoll.closed_at, PulseAnswer.component_id)
        .order_by(PulsePoll.closed_at, PulsePoll.id)
    )
    return [TrendPoint(p, when, c, float(m)) for p, when, c, m in (await session.execute(stmt)).all()]


# ---------------------------------------------------------------- targets


def add_target(
    session: AsyncSession,
    *,
    team_id: int,
    instrument_id: str,
    after_poll_id: int,
    component_id: str,
    text: str,
    set_by: int | None,
    now: datetime,
) -> PulseTarget:
    target = PulseTarget(
        team_id=team_id,
        instrument_id=instrument_id,
        after_poll_id=after_poll_id,
        component_id=component_id,
        text=text,
        set_by=set_by,
        set_at=now,
    )
    session.add(target)
    return target


async def targets_after(session: AsyncSession, poll_id: int) -> list[PulseTarget]:
    stmt = select(PulseTarget).where(PulseTarget.after_poll_id == poll_id).order_by(PulseTarget.id)
    return list((await session.execute(stmt)).scalars())


# ---------------------------------------------------------------- export


async def export_rows(
    session: AsyncSession, team_id: int
) -> list[tuple[int, str, str | None, str, float, int]]:
    """(poll, instrument, side or None for everyone, component, mean, ballots) for released polls."""
    ballots = func.count(func.distinct(PulseAnswer.ballot_id))
    overall = (
        select(
            PulsePoll.id,
            PulsePoll.instrument_id,
            PulseAnswer.component_id,
            func.avg(PulseAnswer.value),
            ballots,
        )
        .join(PulseAnswer, PulseAnswer.poll_id == PulsePoll.id)
        .where(PulsePoll.team_id == team_id, PulsePoll.status == RELEASED)
        .group_by(PulsePoll.id, PulsePoll.instrument_id, PulseAnswer.component_id)
    )
    by_side = (
        select(
            PulsePoll.id,
            PulsePoll.instrument_id,
            PulseBallot.side_group,
            PulseAnswer.component_id,
            func.avg(PulseAnswer.value),
            ballots,
        )
        .join(PulseAnswer, PulseAnswer.poll_id == PulsePoll.id)
        .join(PulseBallot, PulseBallot.id == PulseAnswer.ballot_id)
        .where(
            PulsePoll.team_id == team_id, PulsePoll.status == RELEASED, PulseBallot.side_group.is_not(None)
        )
        .group_by(PulsePoll.id, PulsePoll.instrument_id, PulseBallot.side_group, PulseAnswer.component_id)
    )
    rows: list[tuple[int, str, str | None, str, float, int]] = [
        (p, i, None, c, float(m), int(n)) for p, i, c, m, n in (await session.execute(overall)).all()
    ]
    rows += [(p, i, s, c, float(m), int(n)) for p, i, s, c, m, n in (await session.execute(by_side)).all()]
    return rows


# ---------------------------------------------------------------- private messages


async def outbox_rows_in_flight(session: AsyncSession, key_prefix: str) -> int:
    """Outbox rows under `key_prefix` not yet sent or given up (pending or being sent)."""
    stmt = select(func.count()).where(
        OutboxMessage.message_key.startswith(key_prefix, autoescape=True),
        OutboxMessage.status.in_([OutboxStatus.pending, OutboxStatus.sending]),
    )
    return int((await session.execute(stmt)).scalar_one())

"""Pulse poll queries. While a poll is open, submissions exist only sealed, one row per person
(`pulse_sealed`, storage/sealing.py); at close they are opened, shuffled and written with no person
(`write_shuffled`). Aggregates are computed in SQL (GROUP BY, AVG, COUNT); no function returns an individual
answer row of a closed poll."""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage, OutboxStatus
from storage.pulse_models import (
    PulseAnswer,
    PulseBallot,
    PulseComment,
    PulsePoll,
    PulseSealed,
    PulseTarget,
    new_id,
)
from storage.sealing import SealBroken, Sealer
from storage.sql import insert_ignore

OPEN, RELEASED, WITHHELD = "open", "released", "withheld"


@dataclass(frozen=True)
class Submission:
    """What one person submitted: (component, item, value) answers, an optional comment, and their side
    when the poll records sides. Exists in the clear only in the server's memory."""

    answers: tuple[tuple[str, str, int], ...]
    comment: str | None
    side: str | None

    def to_data(self) -> dict[str, Any]:
        return {"answers": [list(a) for a in self.answers], "comment": self.comment, "side": self.side}

    @staticmethod
    def from_data(data: dict[str, Any]) -> Submission:
        answers = tuple((str(c), str(i), int(v)) for c, i, v in data.get("answers", []))
        comment, side = data.get("comment"), data.get("side")
        return Submission(answers, str(comment) if comment else None, str(side) if side else None)


@dataclass(frozen=True)
class Opened:
    """The sealed submissions of a poll, opened at close, in random order; `broken` did not open."""

    submissions: list[Submission]
    broken: int


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


@dataclass(frozen=True)
class PollView:
    """A poll as flows see it: plain values, read-only (`instrument` too). Changed through the functions
    below (`set_reminders_sent`, `store_chart`, `close`), never by setting attributes."""

    id: int
    team_id: int
    instrument_id: str
    instrument: Mapping[str, Any]  # the snapshot the poll asks (flows/content/instruments.py)
    status: str
    min_responses: int
    invited: int
    remind_days: tuple[int, ...]
    reminders_sent: int
    sides_recorded: bool
    opened_at: datetime
    opened_local: str
    closes_at: datetime
    closed_at: datetime | None
    respondents: int | None
    opened_by: int | None


def poll_view(poll: PulsePoll) -> PollView:
    return PollView(
        poll.id,
        poll.team_id,
        poll.instrument_id,
        MappingProxyType(dict(poll.instrument)),
        poll.status,
        poll.min_responses,
        poll.invited,
        tuple(poll.remind_days or ()),
        poll.reminders_sent,
        poll.sides_recorded,
        poll.opened_at,
        poll.opened_local,
        poll.closes_at,
        poll.closed_at,
        poll.respondents,
        poll.opened_by,
    )


def _view(poll: PulsePoll | None) -> PollView | None:
    return poll_view(poll) if poll is not None else None


async def add_poll(session: AsyncSession, **fields: Any) -> PollView:
    poll = PulsePoll(reminders_sent=0, **fields)
    session.add(poll)
    await session.flush()
    return poll_view(poll)


async def poll_by_id(session: AsyncSession, poll_id: int) -> PollView | None:
    return _view(await session.get(PulsePoll, poll_id))


async def open_poll(session: AsyncSession, team_id: int) -> PollView | None:
    stmt = select(PulsePoll).where(PulsePoll.team_id == team_id, PulsePoll.status == OPEN)
    return _view((await session.execute(stmt.order_by(PulsePoll.id.desc()).limit(1))).scalar_one_or_none())


async def closed_polls(
    session: AsyncSession, team_id: int, instrument_id: str | None = None, status: str | None = None
) -> list[PollView]:
    """Closed polls (released or withheld), oldest first."""
    stmt = select(PulsePoll).where(PulsePoll.team_id == team_id, PulsePoll.status != OPEN)
    if instrument_id is not None:
        stmt = stmt.where(PulsePoll.instrument_id == instrument_id)
    if status is not None:
        stmt = stmt.where(PulsePoll.status == status)
    rows = (await session.execute(stmt.order_by(PulsePoll.closed_at, PulsePoll.id))).scalars()
    return [poll_view(poll) for poll in rows]


async def latest_released(session: AsyncSession, team_id: int) -> PollView | None:
    stmt = (
        select(PulsePoll)
        .where(PulsePoll.team_id == team_id, PulsePoll.status == RELEASED)
        .order_by(PulsePoll.closed_at.desc(), PulsePoll.id.desc())
        .limit(1)
    )
    return _view((await session.execute(stmt)).scalar_one_or_none())


async def previous_released(session: AsyncSession, poll: PollView) -> PollView | None:
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
    return _view((await session.execute(stmt)).scalar_one_or_none())


# ---------------------------------------------------------------- sealed submissions (who, never what)


def sealed_size(item_keys: Sequence[tuple[str, str]], comment_max: int) -> int:
    """The one plaintext length every submission to a poll is padded to: room for every item with the
    widest value, the longest comment (4 bytes a character) and the longest side, in whole KiB."""
    widest = Submission(tuple((c, i, 10**6) for c, i in item_keys), "", "management")
    room = len(json.dumps(widest.to_data()).encode()) + 4 * comment_max + 64
    return 1024 * math.ceil(room / 1024)


def _context(poll_id: int, person_id: int) -> str:
    return f"pulse:{poll_id}:{person_id}"


async def seal_submission(
    session: AsyncSession, sealer: Sealer, poll_id: int, person_id: int, submission: Submission, size: int
) -> bool:
    """Keep a person's submission sealed until close; True for their first, False when it replaced one."""
    sealed = sealer.seal(submission.to_data(), context=_context(poll_id, person_id), size=size)
    values = {"poll_id": poll_id, "person_id": person_id, "sealed": sealed}
    if await insert_ignore(session, PulseSealed, values):
        return True
    await session.execute(
        update(PulseSealed)
        .where(PulseSealed.poll_id == poll_id, PulseSealed.person_id == person_id)
        .values(sealed=sealed)
    )
    return False


async def sealed_submission(
    session: AsyncSession, sealer: Sealer, poll_id: int, person_id: int
) -> Submission | None:
    """A person's own sealed submission (to show their answers in the form again), if it opens."""
    stmt = select(PulseSealed.sealed).where(
        PulseSealed.poll_id == poll_id, PulseSealed.person_id == person_id
    )
    sealed = (await session.execute(stmt)).scalar_one_or_none()
    if sealed is None:
        return None
    try:
        return Submission.from_data(sealer.open(sealed, context=_context(poll_id, person_id)))
    except SealBroken:
        return None


async def open_sealed(session: AsyncSession, sealer: Sealer, poll_id: int) -> Opened:
    """Every sealed submission of a poll, opened and shuffled (nothing of the order of the rows remains)."""
    stmt = select(PulseSealed.person_id, PulseSealed.sealed).where(PulseSealed.poll_id == poll_id)
    opened: list[Submission] = []
    broken = 0
    for person_id, sealed in (await session.execute(stmt)).all():
        try:
            opened.append(Submission.from_data(sealer.open(sealed, context=_context(poll_id, person_id))))
        except SealBroken:
            broken += 1
    secrets.SystemRandom().shuffle(opened)
    return Opened(opened, broken)


async def has_participated(session: AsyncSession, poll_id: int, person_id: int) -> bool:
    stmt = select(func.count()).where(PulseSealed.poll_id == poll_id, PulseSealed.person_id == person_id)
    return bool((await session.execute(stmt)).scalar_one())


async def participant_ids(session: AsyncSession, poll_id: int) -> set[int]:
    """For reminders only: the people who have answered an open poll (never shown to anyone)."""
    stmt = select(PulseSealed.person_id).where(PulseSealed.poll_id == poll_id)
    return set((await session.execute(stmt)).scalars())


async def participation_count(session: AsyncSession, poll_id: int) -> int:
    stmt = select(func.count()).select_from(PulseSealed).where(PulseSealed.poll_id == poll_id)
    return int((await session.execute(stmt)).scalar_one())


# ---------------------------------------------------------------- ballots (written once, at close)


async def write_shuffled(
    session: AsyncSession, poll_id: int, submissions: Sequence[Submission], *, keep_sides: bool
) -> None:
    """Write a closed poll's ballots, answers and comments in one go, each list in its own random order,
    with random ids and no person: the physical order and the keys record nothing about who said what."""
    rng = secrets.SystemRandom()
    ballots: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []
    comments: list[dict[str, Any]] = []
    for submission in submissions:
        ballot_id = new_id()
        side = submission.side if keep_sides else None
        ballots.append({"id": ballot_id, "poll_id": poll_id, "side_group": side})
        answers += [
            {
                "id": new_id(),
                "ballot_id": ballot_id,
                "poll_id": poll_id,
                "component_id": c,
                "item_id": i,
                "value": v,
            }
            for c, i, v in submission.answers
        ]
        if submission.comment:
            comments.append({"id": new_id(), "poll_id": poll_id, "text": submission.comment})
    for table, rows in ((PulseBallot, ballots), (PulseAnswer, answers), (PulseComment, comments)):
        rng.shuffle(rows)
        if rows:
            await session.execute(insert(table), rows)


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


async def set_reminders_sent(session: AsyncSession, poll_id: int, count: int) -> None:
    """How many reminder rounds of the poll have gone out."""
    await session.execute(update(PulsePoll).where(PulsePoll.id == poll_id).values(reminders_sent=count))


async def store_chart(session: AsyncSession, poll_id: int, png: bytes) -> None:
    """Keep the poll's trend chart (served by the adapters from the database)."""
    await session.execute(update(PulsePoll).where(PulsePoll.id == poll_id).values(chart_png=png))


# ---------------------------------------------------------------- closing


async def close(
    session: AsyncSession, poll: PollView, *, now: datetime, status: str, respondents: int
) -> PollView:
    """Close a poll: delete every sealed submission (who answered goes with them). The caller has written
    the released answers with `write_shuffled` in this same transaction, or, when withheld, nothing.
    Returns the poll as it now is."""
    await session.execute(delete(PulseSealed).where(PulseSealed.poll_id == poll.id))
    await session.execute(
        update(PulsePoll)
        .where(PulsePoll.id == poll.id)
        .values(status=status, closed_at=now, respondents=respondents)
    )
    return replace(poll, status=status, closed_at=now, respondents=respondents)


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
) -> None:
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


@dataclass(frozen=True)
class TargetView:
    """A team target set after a release: the component it is about and what the team will do."""

    component_id: str
    text: str


async def targets_after(session: AsyncSession, poll_id: int) -> list[TargetView]:
    stmt = (
        select(PulseTarget.component_id, PulseTarget.text)
        .where(PulseTarget.after_poll_id == poll_id)
        .order_by(PulseTarget.id)
    )
    return [TargetView(*row) for row in (await session.execute(stmt)).all()]


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

"""Check-in queries. Flows get frozen `Run` values and say what to store through these functions.

Named answers live in `checkin_responses`. The optional mood follows the pulse poll's rules
(storage/pulse.py): sealed per person while the run is open (`checkin_mood_sealed`, storage/sealing.py),
opened, shuffled and written with no person at close (`checkin_moods`), and only when at least the run's
`min_responses` moods were given; otherwise never written. No function returns one person's mood of a
closed run.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.checkin_models import CheckinMood, CheckinMoodSealed, CheckinResponse, CheckinRun
from storage.models import Schedule
from storage.pulse_models import new_id
from storage.sealing import SealBroken, Sealer
from storage.sql import dialect_name, insert_ignore

OPEN, CLOSED = "open", "closed"
MOOD_SEAL_SIZE = 64  # every sealed mood is padded to this many bytes: its length says nothing


@dataclass(frozen=True)
class Run:
    id: int
    team_id: int
    run_day: str
    status: str
    prompts: tuple[str, ...]
    mood: bool
    min_responses: int
    asked: tuple[int, ...]
    opens_at: datetime
    closes_at: datetime
    remind_at: datetime | None
    reminded: bool
    digest_posted: bool
    closed_at: datetime | None
    respondents: int | None
    moods_given: int | None


@dataclass(frozen=True)
class Response:
    person_id: int
    answers: tuple[str | None, ...]


@dataclass(frozen=True)
class MoodSummary:
    """A closed run's released moods: how many, and their mean (None when withheld or none)."""

    count: int
    mean: float | None


def _run(row: CheckinRun) -> Run:
    return Run(
        id=row.id,
        team_id=row.team_id,
        run_day=row.run_day,
        status=row.status,
        prompts=tuple(row.prompts),
        mood=row.mood,
        min_responses=row.min_responses,
        asked=tuple(int(p) for p in row.asked),
        opens_at=row.opens_at,
        closes_at=row.closes_at,
        remind_at=row.remind_at,
        reminded=row.reminded,
        digest_posted=row.digest_posted,
        closed_at=row.closed_at,
        respondents=row.respondents,
        moods_given=row.moods_given,
    )


# ---------------------------------------------------------------- runs


async def add_runs(session: AsyncSession, runs: Sequence[Mapping[str, Any]]) -> list[Run | None]:
    """New open runs, in one statement (each a mapping of the run's fields); for each, in order, the run, or
    None when its team already has a run for that occurrence."""
    if not runs:
        return []
    rows = [{"status": OPEN, "reminded": False, "digest_posted": False, **fields} for fields in runs]
    insert_ = postgresql.insert if dialect_name(session) == "postgresql" else sqlite.insert
    stmt = (
        insert_(CheckinRun)
        .on_conflict_do_nothing()
        .returning(CheckinRun.id, CheckinRun.team_id, CheckinRun.occurrence_local)
    )
    result = await (await session.connection()).execute(stmt, rows)
    ids = {(int(team_id), str(occurrence)): int(run_id) for run_id, team_id, occurrence in result.all()}
    out: list[Run | None] = []
    for values in rows:
        run_id = ids.pop((int(values["team_id"]), str(values["occurrence_local"])), None)
        out.append(None if run_id is None else _new_run(run_id, values))
    return out


def _new_run(run_id: int, values: Mapping[str, Any]) -> Run:
    return Run(
        id=run_id,
        team_id=int(values["team_id"]),
        run_day=str(values["run_day"]),
        status=OPEN,
        prompts=tuple(values["prompts"]),
        mood=bool(values["mood"]),
        min_responses=int(values["min_responses"]),
        asked=tuple(int(p) for p in values["asked"]),
        opens_at=values["opens_at"],
        closes_at=values["closes_at"],
        remind_at=values.get("remind_at"),
        reminded=False,
        digest_posted=False,
        closed_at=None,
        respondents=None,
        moods_given=None,
    )


async def run_by_id(session: AsyncSession, run_id: int) -> Run | None:
    row = await session.get(CheckinRun, run_id)
    return _run(row) if row is not None else None


async def runs_of_team(session: AsyncSession, team_id: int, since: datetime | None = None) -> list[Run]:
    """The team's runs, oldest first (those opening at or after `since` when given)."""
    stmt = select(CheckinRun).where(CheckinRun.team_id == team_id)
    if since is not None:
        stmt = stmt.where(CheckinRun.opens_at >= since)
    rows = (await session.execute(stmt.order_by(CheckinRun.opens_at, CheckinRun.id))).scalars()
    return [_run(r) for r in rows]


async def mark(session: AsyncSession, run_id: int, **values: Any) -> None:
    """Set a run's flags (`reminded`, `digest_posted`)."""
    allowed = {"reminded", "digest_posted"}
    if not set(values) <= allowed:
        raise ValueError(f"only {sorted(allowed)} can be set, not {sorted(set(values) - allowed)}")
    await session.execute(update(CheckinRun).where(CheckinRun.id == run_id).values(**values))


# ---------------------------------------------------------------- responses (named)


async def save_response(
    session: AsyncSession, run_id: int, person_id: int, answers: Sequence[str | None]
) -> bool:
    """Store a person's answers; True for their first, False when it replaced earlier ones."""
    values = {"run_id": run_id, "person_id": person_id, "answers": list(answers)}
    if await insert_ignore(session, CheckinResponse, values):
        return True
    await session.execute(
        update(CheckinResponse)
        .where(CheckinResponse.run_id == run_id, CheckinResponse.person_id == person_id)
        .values(answers=list(answers))
    )
    return False


async def responses(session: AsyncSession, run_id: int) -> list[Response]:
    stmt = select(CheckinResponse.person_id, CheckinResponse.answers).where(CheckinResponse.run_id == run_id)
    return [Response(int(p), tuple(a)) for p, a in (await session.execute(stmt)).all()]


async def response_of(session: AsyncSession, run_id: int, person_id: int) -> Response | None:
    stmt = select(CheckinResponse.answers).where(
        CheckinResponse.run_id == run_id, CheckinResponse.person_id == person_id
    )
    answers = (await session.execute(stmt)).scalar_one_or_none()
    return Response(person_id, tuple(answers)) if answers is not None else None


async def respondent_ids(session: AsyncSession, run_id: int) -> set[int]:
    stmt = select(CheckinResponse.person_id).where(CheckinResponse.run_id == run_id)
    return set((await session.execute(stmt)).scalars())


# ---------------------------------------------------------------- the mood (sealed, then unlinkable)


def _context(run_id: int, person_id: int) -> str:
    return f"checkin:{run_id}:{person_id}"


async def seal_mood(
    session: AsyncSession, sealer: Sealer, run_id: int, person_id: int, mood: int | None
) -> None:
    """Keep a person's mood sealed until close (None: they took it back)."""
    if mood is None:
        await session.execute(
            delete(CheckinMoodSealed).where(
                CheckinMoodSealed.run_id == run_id, CheckinMoodSealed.person_id == person_id
            )
        )
        return
    sealed = sealer.seal({"mood": int(mood)}, context=_context(run_id, person_id), size=MOOD_SEAL_SIZE)
    values = {"run_id": run_id, "person_id": person_id, "sealed": sealed}
    if not await insert_ignore(session, CheckinMoodSealed, values):
        await session.execute(
            update(CheckinMoodSealed)
            .where(CheckinMoodSealed.run_id == run_id, CheckinMoodSealed.person_id == person_id)
            .values(sealed=sealed)
        )


async def sealed_mood(session: AsyncSession, sealer: Sealer, run_id: int, person_id: int) -> int | None:
    """A person's own mood in an open run (to show it in their form again), if it opens."""
    stmt = select(CheckinMoodSealed.sealed).where(
        CheckinMoodSealed.run_id == run_id, CheckinMoodSealed.person_id == person_id
    )
    sealed = (await session.execute(stmt)).scalar_one_or_none()
    if sealed is None:
        return None
    try:
        return int(sealer.open(sealed, context=_context(run_id, person_id))["mood"])
    except (SealBroken, KeyError, ValueError):
        return None


async def close_run(
    session: AsyncSession, sealer: Sealer, run_id: int, *, now: datetime, min_moods: int
) -> tuple[int, int]:
    """Close a run: open the sealed moods, write them shuffled with random ids and no person when at least
    `min_moods` were given (else write none), delete every sealed mood, and keep the counts on the run.
    Returns (respondents, moods given)."""
    stmt = select(CheckinMoodSealed.person_id, CheckinMoodSealed.sealed).where(
        CheckinMoodSealed.run_id == run_id
    )
    moods: list[int] = []
    for person_id, sealed in (await session.execute(stmt)).all():
        try:
            moods.append(int(sealer.open(sealed, context=_context(run_id, person_id))["mood"]))
        except (SealBroken, KeyError, ValueError):
            continue
    if moods and len(moods) >= min_moods:
        rows = [{"id": new_id(), "run_id": run_id, "value": m} for m in moods]
        secrets.SystemRandom().shuffle(rows)
        await session.execute(insert(CheckinMood), rows)
    await session.execute(delete(CheckinMoodSealed).where(CheckinMoodSealed.run_id == run_id))
    respondents = len(await respondent_ids(session, run_id))
    await session.execute(
        update(CheckinRun)
        .where(CheckinRun.id == run_id)
        .values(status=CLOSED, closed_at=now, respondents=respondents, moods_given=len(moods))
    )
    return respondents, len(moods)


async def mood_summary(session: AsyncSession, run_id: int) -> MoodSummary:
    stmt = select(func.count(), func.avg(CheckinMood.value)).where(CheckinMood.run_id == run_id)
    count, mean = (await session.execute(stmt)).one()
    return MoodSummary(int(count), float(mean) if mean is not None else None)


async def mood_summaries(session: AsyncSession, run_ids: Sequence[int]) -> dict[int, MoodSummary]:
    if not run_ids:
        return {}
    stmt = (
        select(CheckinMood.run_id, func.count(), func.avg(CheckinMood.value))
        .where(CheckinMood.run_id.in_(list(run_ids)))
        .group_by(CheckinMood.run_id)
    )
    return {int(r): MoodSummary(int(n), float(m)) for r, n, m in (await session.execute(stmt)).all()}


# ---------------------------------------------------------------- the trend chart


async def store_chart(session: AsyncSession, run_id: int, png: bytes) -> None:
    await session.execute(update(CheckinRun).where(CheckinRun.id == run_id).values(chart_png=png))


async def chart_png(session: AsyncSession, run_id: int) -> bytes | None:
    stmt = select(CheckinRun.chart_png).where(CheckinRun.id == run_id)
    return (await session.execute(stmt)).scalar_one_or_none()


# ---------------------------------------------------------------- one-off schedules of a run


@dataclass(frozen=True)
class OneOffs:
    """The schedules that fire once for one run: kind (its reminder, its close) -> instant."""

    team_id: int
    run_id: int
    when: Mapping[str, datetime]


async def add_one_offs(session: AsyncSession, runs: Sequence[OneOffs], now: datetime) -> None:
    """The one-off schedules of many runs, in one statement, kept in UTC wall-clock. Several runs may be
    open at once, so these are not the team's one schedule of their kind (storage/schedules.py
    `upsert_for_team`)."""
    rows = []
    for run in runs:
        for kind, at in run.when.items():
            local = at.astimezone(UTC).replace(tzinfo=None, microsecond=0).strftime("%Y-%m-%dT%H:%M:%S")
            rows.append(
                {
                    "team_id": run.team_id,
                    "kind": kind,
                    "rrule": "FREQ=DAILY;COUNT=1",
                    "dtstart_local": local,
                    "timezone": "UTC",
                    "settings": {"run_id": run.run_id, "misfire_grace_minutes": 7 * 24 * 60},
                    "enabled": True,
                    "next_occurrence_local": local,
                    "next_fire_at": at,
                    "updated_at": now,
                }
            )
    if rows:
        await (await session.connection()).execute(insert(Schedule), rows)

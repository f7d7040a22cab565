"""Schedule kinds prepared many at once (flows/core/engine.py `BatchScheduleHandler`, check-in runs): the
tick hands every due occurrence of the kind to one call, each claimed exactly once; one failing occurrence
undoes the batch, which then runs one occurrence at a time, so only the failing one is recorded failed. A
batch's people may outnumber the parameters one statement can carry."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flows.core.actions import ActionHandler
from flows.core.clock import ManualClock
from flows.core.engine import (
    ArrivalHandler,
    BatchScheduleHandler,
    Command,
    DueOccurrence,
    Engine,
    FlowContext,
    ScheduleHandler,
)
from flows.core.recurrence import to_key
from storage import flow_state, schedules, teams
from storage.models import Identity, Person

pytestmark = pytest.mark.both_databases  # claims under a unique constraint: on PostgreSQL as well

KIND = "test.batch"
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
OCCURRENCE = datetime(2026, 11, 2, 12, 1)  # UTC wall clock, inside the engine's prepare horizon


class BatchFlow:
    """A flow whose one schedule kind runs in batches: each occurrence records itself in the flow state;
    an occurrence of a team in `failing` raises after writing."""

    name = "batch-test"

    def __init__(self, failing: frozenset[int] = frozenset()) -> None:
        self.failing = failing
        self.calls: list[list[int]] = []  # the team ids of each call, in order

    def commands(self) -> Sequence[Command]:
        return ()

    def actions(self) -> dict[str, ActionHandler]:
        return {}

    def schedule_handlers(self) -> dict[str, ScheduleHandler]:
        return {}

    def schedule_batch_handlers(self) -> dict[str, BatchScheduleHandler]:
        return {KIND: self._run}

    def arrivals(self) -> Sequence[ArrivalHandler]:
        return ()

    async def _run(self, ctx: FlowContext, due: Sequence[DueOccurrence]) -> None:
        self.calls.append([d.schedule.team_id for d in due])
        for d in due:
            await ctx.save_state(self.name, d.schedule.team_id, "ran", {"at": to_key(d.occurrence)})
            if d.schedule.team_id in self.failing:
                raise RuntimeError("this team's occurrence fails")


async def _teams_with_schedules(sessions: async_sessionmaker[AsyncSession], count: int) -> dict[int, int]:
    """`count` teams, each with a daily schedule of KIND due at OCCURRENCE: team id -> schedule id."""
    out = {}
    async with sessions() as session, session.begin():
        for n in range(count):
            team, _ = await teams.save_team(
                session, name=f"Batch {n}", timezone="UTC", language="en", settings={}, now=NOW
            )
            schedule = await schedules.upsert_for_team(
                session,
                team_id=team.id,
                kind=KIND,
                rrule="FREQ=DAILY",
                dtstart_local=to_key(OCCURRENCE),
                timezone="UTC",
                settings={},
                next_occurrence_local=to_key(OCCURRENCE),
                next_fire_at=OCCURRENCE.replace(tzinfo=UTC),
                now=NOW,
            )
            out[team.id] = schedule.id
    return out


async def _outcome(
    sessions: async_sessionmaker[AsyncSession], team_ids: Sequence[int]
) -> tuple[dict[int, list[tuple[str, str, str]]], set[int], set[str | None]]:
    """Each team's claims (occurrence, status, by); the teams whose occurrence's writes were kept; the
    schedules' next occurrences."""
    claims, kept, following = {}, set(), set()
    async with sessions() as session:
        for team_id in team_ids:
            (schedule,) = await schedules.for_team(session, team_id, KIND)
            claims[team_id] = [
                (c.occurrence_local, c.status, c.claimed_by)
                for c in await schedules.claims(session, schedule.id)
            ]
            if await flow_state.load(session, BatchFlow.name, team_id, "ran"):
                kept.add(team_id)
            following.add(schedule.next_occurrence_local)
    return claims, kept, following


async def test_a_batch_kind_gets_its_due_occurrences_in_one_call_each_claimed_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    schedule_of = await _teams_with_schedules(sessions, 5)
    team_ids = sorted(schedule_of)
    key, elsewhere = to_key(OCCURRENCE), team_ids[2]
    async with sessions() as session, session.begin():  # another replica already ran the third team's
        assert await schedules.claim(session, schedule_of[elsewhere], key, "ran", "replica-b", NOW)
    flow = BatchFlow()
    engine = Engine(sessions, ManualClock(NOW), [flow], name="replica-a")

    report = await engine.tick()

    claims, kept, following = await _outcome(sessions, team_ids)
    ours = [t for t in team_ids if t != elsewhere]
    assert [sorted(call) for call in flow.calls] == [ours]
    assert (report.ran, report.failed) == (4, 0)
    assert claims == {t: [(key, "ran", "replica-b" if t == elsewhere else "replica-a")] for t in team_ids}
    assert kept == set(ours)
    assert following == {to_key(OCCURRENCE + timedelta(days=1))}  # every schedule moved on

    assert (await engine.tick()).ran == 0 and len(flow.calls) == 1  # nothing runs twice


async def test_one_failing_occurrence_undoes_the_batch_and_only_it_is_recorded_failed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    team_ids = sorted(await _teams_with_schedules(sessions, 4))
    failing = team_ids[1]
    flow = BatchFlow(failing=frozenset({failing}))
    engine = Engine(sessions, ManualClock(NOW), [flow], name="replica-a")

    report = await engine.tick()

    claims, kept, following = await _outcome(sessions, team_ids)
    # the whole batch once (undone), then one occurrence at a time
    assert [sorted(call) for call in flow.calls] == [team_ids] + [[t] for t in team_ids]
    assert (report.ran, report.failed) == (3, 1)
    key = to_key(OCCURRENCE)
    assert claims == {t: [(key, "failed" if t == failing else "ran", "replica-a")] for t in team_ids}
    assert kept == set(team_ids) - {failing}  # the failing occurrence's writes were undone
    assert following == {to_key(OCCURRENCE + timedelta(days=1))}


async def test_a_batch_looks_up_more_people_than_one_statement_can_name(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A batch of 200 runs of teams of 200 asks 40,000 people: more than the 32,767 parameters a statement
    may have on PostgreSQL (asyncpg)."""
    async with sessions() as session, session.begin():
        session.add_all([Person(id=p, display_name=f"P{p}", created_at=NOW) for p in (1, 39_999)])
        await session.flush()
        session.add_all([Identity(person_id=p, platform="local", user_id=f"u{p}") for p in (1, 39_999)])
    async with sessions() as session:
        found = await teams.identities_of_people(session, list(range(1, 40_001)))
    assert {p: [i.user_id for i in found[p]] for p in found} == {1: ["u1"], 39_999: ["u39999"]}

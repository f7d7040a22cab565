"""Exactly-once scheduling across DST, through the real engine tick, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from flows.core.recurrence import Recurrence, from_key, zone
from storage import outbox, roles, schedules, teams
from storage.models import OccurrenceClaim, Schedule
from tests.conftest import Stack, team_spec

pytestmark = pytest.mark.both_databases  # a storage behaviour: on PostgreSQL as well (tests/conftest.py)

LA = zone("America/Los_Angeles")


async def _schedule(stack: Stack, rrule: str, start: str, lead: int = 0) -> Schedule:
    spec = team_spec(meeting={"rrule": rrule, "start": start, "reminder_minutes_before": lead})
    team = await stack.import_team(spec)
    async with stack.sessions() as session:
        return (await schedules.for_team(session, team.id, "meeting"))[0]


async def _walk(stack: Stack, start: datetime, end: datetime, step: timedelta) -> None:
    """Tick every `step` from `start` to `end`, as a running process would."""
    now = start
    while now <= end:
        await stack.run_until(now)
        now += step


async def _claims(stack: Stack, schedule_id: int) -> list[OccurrenceClaim]:
    async with stack.sessions() as session:
        return await schedules.claims(session, schedule_id)


async def test_daily_0130_fires_once_on_fall_back_day(stack: Stack) -> None:
    stack.clock.set(datetime(2026, 10, 30, 12, 0, tzinfo=UTC))
    schedule = await _schedule(stack, "FREQ=DAILY", "2026-10-01T01:30:00")
    # 2026-11-01 in Los Angeles: 01:00-02:00 happens twice (PDT, then PST). Walk the whole night.
    await _walk(
        stack,
        datetime(2026, 11, 1, 0, 0, tzinfo=LA).astimezone(UTC),
        datetime(2026, 11, 1, 4, 0, tzinfo=LA).astimezone(UTC),
        timedelta(minutes=5),
    )
    ran = [c.occurrence_local for c in await _claims(stack, schedule.id) if c.status == "ran"]
    assert ran == ["2026-11-01T01:30:00"]
    async with stack.sessions() as session:
        rows = await outbox.messages(session)
    assert len(rows) == 1  # one channel, one occurrence
    # It fired at the first 01:30 (PDT, UTC-7), i.e. 08:30 UTC.
    assert rows[0].next_attempt_at == rows[0].sent_at == datetime(2026, 11, 1, 8, 30, tzinfo=UTC)


async def test_daily_0230_fires_once_on_spring_forward_day(stack: Stack) -> None:
    stack.clock.set(datetime(2026, 3, 6, 12, 0, tzinfo=UTC))
    schedule = await _schedule(stack, "FREQ=DAILY", "2026-03-01T02:30:00")
    # 2026-03-08 in Los Angeles: 02:00-03:00 does not exist.
    await _walk(
        stack,
        datetime(2026, 3, 8, 0, 0, tzinfo=LA).astimezone(UTC),
        datetime(2026, 3, 8, 5, 0, tzinfo=LA).astimezone(UTC),
        timedelta(minutes=5),
    )
    ran = [c.occurrence_local for c in await _claims(stack, schedule.id) if c.status == "ran"]
    assert ran == ["2026-03-08T02:30:00"]
    async with stack.sessions() as session:
        rows = await outbox.messages(session)
    assert len(rows) == 1
    # The missing 02:30 happens at 03:30 PDT (10:30 UTC), the instant the zone maps it to.
    assert rows[0].next_attempt_at == rows[0].sent_at == datetime(2026, 3, 8, 10, 30, tzinfo=UTC)


async def test_1600_meeting_stays_at_1600_local_across_november_change(stack: Stack) -> None:
    stack.clock.set(datetime(2026, 10, 20, 12, 0, tzinfo=UTC))
    schedule = await _schedule(stack, "FREQ=WEEKLY;BYDAY=TU", "2026-09-01T16:00:00", lead=30)
    fired_at: list[datetime] = []
    for _ in range(4):
        async with stack.sessions() as session:
            current = await session.get(Schedule, schedule.id)
            assert current is not None and current.next_fire_at is not None
            due = current.next_fire_at
        await stack.run_until(due)
        fired_at.append(due)
    local = [(t + timedelta(minutes=30)).astimezone(LA) for t in fired_at]
    assert [t.strftime("%Y-%m-%d %H:%M %Z") for t in local] == [
        "2026-10-20 16:00 PDT",
        "2026-10-27 16:00 PDT",
        "2026-11-03 16:00 PST",
        "2026-11-10 16:00 PST",
    ]
    # ...which is a different UTC hour before and after the change.
    assert {t.hour for t in fired_at} == {22, 23}
    ran = [c.occurrence_local for c in await _claims(stack, schedule.id) if c.status == "ran"]
    assert ran == ["2026-10-20T16:00:00", "2026-10-27T16:00:00", "2026-11-03T16:00:00", "2026-11-10T16:00:00"]


async def test_downtime_coalesces_to_the_latest_occurrence_within_grace(stack: Stack) -> None:
    stack.clock.set(datetime(2026, 10, 20, 12, 0, tzinfo=UTC))
    schedule = await _schedule(stack, "FREQ=HOURLY", "2026-10-20T06:00:00")
    # The bot was down for ten hours; it comes back 3 minutes after an occurrence (grace: 5 minutes).
    await stack.run_until(datetime(2026, 10, 20, 22, 3, tzinfo=UTC))
    claims = await _claims(stack, schedule.id)
    assert [(c.occurrence_local, c.status) for c in claims] == [("2026-10-20T15:00:00", "ran")]
    async with stack.sessions() as session:
        assert len(await outbox.messages(session)) == 1
        current = await session.get(Schedule, schedule.id)
    assert current is not None and current.next_occurrence_local == "2026-10-20T16:00:00"


async def test_an_occurrence_past_its_grace_is_skipped_not_sent(stack: Stack) -> None:
    stack.clock.set(datetime(2026, 10, 20, 12, 0, tzinfo=UTC))
    schedule = await _schedule(stack, "FREQ=WEEKLY;BYDAY=TU", "2026-09-01T16:00:00", lead=30)
    # Back up three hours after the meeting started: a reminder would be useless now.
    await stack.run_until(datetime(2026, 10, 20, 16 + 3, 0, tzinfo=LA).astimezone(UTC))
    claims = await _claims(stack, schedule.id)
    assert [(c.occurrence_local, c.status) for c in claims] == [("2026-10-20T16:00:00", "skipped")]
    async with stack.sessions() as session:
        assert await outbox.messages(session) == []


async def test_a_change_made_elsewhere_is_seen_at_the_next_tick(stack: Stack) -> None:
    stack.clock.set(datetime(2026, 10, 20, 12, 0, tzinfo=UTC))
    schedule = await _schedule(stack, "FREQ=WEEKLY;BYDAY=TU", "2026-09-01T16:00:00")
    async with stack.sessions() as session, session.begin():
        row = (await session.execute(select(Schedule).where(Schedule.id == schedule.id))).scalar_one()
        row.enabled = False
    await stack.run_until(datetime(2026, 10, 21, 12, 0, tzinfo=UTC))
    assert await _claims(stack, schedule.id) == []


def test_recurrence_speaks_nth_weekday_rules_cron_cannot() -> None:
    rule = Recurrence("FREQ=MONTHLY;BYDAY=2TU,4TU", from_key("2026-09-01T16:00:00"), "America/Los_Angeles")
    got = rule.between(from_key("2026-10-01T00:00:00"), from_key("2026-12-01T00:00:00"))
    assert [d.strftime("%m-%d") for d in got] == ["10-13", "10-27", "11-10", "11-24"]
    biweekly = Recurrence(
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE", from_key("2026-09-02T15:30:00"), "America/New_York"
    )
    got = biweekly.between(from_key("2026-09-01T00:00:00"), from_key("2026-10-01T00:00:00"))
    assert [d.strftime("%m-%d") for d in got] == ["09-02", "09-16", "09-30"]


async def test_occurrences_are_prepared_ahead_and_delivered_at_their_fire_time(stack: Stack) -> None:
    stack.clock.set(datetime(2026, 10, 20, 12, 0, tzinfo=UTC))
    schedule = await _schedule(stack, "FREQ=WEEKLY;BYDAY=TU", "2026-09-01T16:00:00", lead=30)
    fire = datetime(2026, 10, 20, 15, 30, tzinfo=LA).astimezone(UTC)
    await stack.run_until(fire - stack.engine.prepare_ahead - timedelta(seconds=1))
    assert await _claims(stack, schedule.id) == []
    await stack.run_until(fire - timedelta(seconds=30))  # prepared: claimed and written, not sent
    assert [c.status for c in await _claims(stack, schedule.id)] == ["ran"]
    async with stack.sessions() as session:
        (row,) = await outbox.messages(session)
    assert row.status == "pending" and row.next_attempt_at == fire
    assert stack.local.transcript == []
    # The facilitator passes before the card went out: the waiting card is rewritten, not doubled.
    async with stack.sessions() as session:
        before = await roles.for_meeting(session, schedule.team_id, "2026-10-20T16:00:00")
        names = {m.person_id: m.name for m in await teams.members(session, schedule.team_id)}
        users = {
            m.person_id: (await teams.identities_of(session, m.person_id))[0].user_id
            for m in await teams.members(session, schedule.team_id)
        }
    facilitator = next(r.person_id for r in before if r.role == "facilitator")
    await stack.local.click(users[facilitator], "norms.pass", "2026-10-20T16:00:00", channel="team-channel")
    await stack.worker.drain()
    assert not [e for e in stack.local.transcript if "Norm of focus" in e.text]
    await stack.run_until(fire)
    cards = [e for e in stack.local.transcript if "Norm of focus" in e.text]
    assert len(cards) == 1 and not cards[0].updated
    async with stack.sessions() as session:
        after = await roles.for_meeting(session, schedule.team_id, "2026-10-20T16:00:00")
    successor = next(r.person_id for r in after if r.role == "facilitator" and not r.passed)
    assert successor != facilitator
    assert f"Facilitator  {names[successor]}" in cards[0].text
    async with stack.sessions() as session:
        rows = await outbox.messages(session)
    assert [r.status for r in rows if r.message_key] == ["sent"]


def test_a_recurrence_in_words() -> None:
    from flows.core.catalog import Words
    from flows.core.formatting import rule_in_words

    say = Words("en")
    assert rule_in_words("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", say) == "every other Monday"
    assert rule_in_words("FREQ=WEEKLY;BYDAY=TU,TH", say) == "every Tuesday and Thursday"
    assert rule_in_words("FREQ=WEEKLY;INTERVAL=3;BYDAY=FR", say) == "every 3 weeks on Friday"
    assert rule_in_words("FREQ=MONTHLY;BYDAY=2MO", say) == "the second Monday of every month"
    assert rule_in_words("FREQ=MONTHLY;INTERVAL=3;BYDAY=-1FR", say) == "the last Friday of every 3 months"
    assert rule_in_words("FREQ=DAILY", say) == "every day"
    assert rule_in_words("FREQ=WEEKLY;BYDAY=MO;COUNT=3", say) == "FREQ=WEEKLY;BYDAY=MO;COUNT=3"  # as written

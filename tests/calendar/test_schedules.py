"""Every schedule of a team honours its calendar, through the real engine tick, across the November DST
change, exactly once: a meeting on a holiday is not announced, a co-chair skips or moves one meeting, a
quarterly poll on a federal holiday opens the next working day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from flows.core.calendar import local_moment
from storage import outbox, pulse, schedules
from storage.calendar import schedule_exceptions
from storage.models import OccurrenceClaim
from tests.calendar.helpers import channel_posts, say
from tests.conftest import Stack, team_spec

LA = "America/Los_Angeles"

pytestmark = pytest.mark.both_databases  # exactly-once claims: on PostgreSQL as well (tests/conftest.py)


def reminder_instants(first: date, last: date) -> list[datetime]:
    """15:30 in Los Angeles (a 16:00 meeting's reminder, 30 minutes ahead) on every day from first to last."""
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return [local_moment(day, time(15, 30), LA) for day in days]


async def claims(stack: Stack, team_id: int, kind: str) -> list[OccurrenceClaim]:
    async with stack.sessions() as session:
        (schedule,) = await schedules.for_team(session, team_id, kind)
        return await schedules.claims(session, schedule.id)


async def reminders(stack: Stack, team_id: int) -> list[datetime]:
    """When each meeting reminder was due out (the outbox holds it until the occurrence's fire time)."""
    async with stack.sessions() as session:
        rows = await outbox.messages(session, team_id)
    return [r.next_attempt_at for r in rows if r.message_key and r.message_key.startswith("norms:")]


async def test_holidays_skips_and_moves_across_the_november_change_run_exactly_once(stack: Stack) -> None:
    stack.clock.set(datetime(2026, 10, 19, 17, 0, tzinfo=UTC))  # Monday 19 Oct, 10:00 in Los Angeles
    team = await stack.import_team(team_spec())  # meets Tuesdays 16:00 Los Angeles, reminder 30 min ahead
    assert "Done" in await say(stack, "ana", 'holiday add 2026-11-03 "Election day"')
    assert "Done" in await say(stack, "ben", "meeting skip 2026-10-27")
    assert "Done" in await say(stack, "ana", "meeting move 2026-11-10 2026-11-12")
    assert any("Ben Manager skipped the meeting of Tue 27 Oct" in p for p in channel_posts(stack))
    assert any(
        "moved the meeting of Tue 10 Nov, 4:00 PM PST to Thu 12 Nov, 4:00 PM PST" in p
        for p in channel_posts(stack)
    )
    instants = reminder_instants(date(2026, 10, 20), date(2026, 11, 13))
    for instant in instants:
        await stack.run_until(instant)
    # a moved meeting can be moved earlier than the one the schedule waits for next
    assert "Done" in await say(stack, "ana", "meeting move 2026-11-17 2026-11-16")
    for instant in [*instants, *reminder_instants(date(2026, 11, 14), date(2026, 11, 18))]:
        await stack.run_until(instant)  # every instant twice: a second tick changes nothing
    ran = [(c.occurrence_local, c.status) for c in await claims(stack, team.id, "meeting")]
    assert ran == [
        ("2026-10-20T16:00:00", "ran"),
        ("2026-11-03T16:00:00", "skipped"),  # the holiday
        ("2026-11-12T16:00:00", "ran"),  # moved from the 10th
        ("2026-11-16T16:00:00", "ran"),  # moved from the 17th
    ]
    # 15:30 wall-clock each time: PDT (UTC-7) before 1 November, PST (UTC-8) after
    assert await reminders(stack, team.id) == [
        datetime(2026, 10, 20, 22, 30, tzinfo=UTC),
        datetime(2026, 11, 12, 23, 30, tzinfo=UTC),
        datetime(2026, 11, 16, 23, 30, tzinfo=UTC),
    ]
    posted = channel_posts(stack)
    assert sum("meets in 30 minutes · Thu 12 Nov, 4:00 PM PST" in p for p in posted) == 1
    assert not any("Tue 3 Nov, 4:00 PM" in p for p in posted)


async def test_skipping_or_moving_a_meeting_is_a_co_chairs_call_and_bad_dates_change_nothing(
    stack: Stack,
) -> None:
    stack.clock.set(datetime(2026, 12, 14, 18, 0, tzinfo=UTC))  # Monday 14 Dec, 10:00 in Los Angeles
    team = await stack.import_team(team_spec())
    assert "Only a co-chair can skip or move a meeting" in await say(stack, "cy", "meeting skip 2026-12-22")
    for typed, reason in [
        ("meeting skip 2026-12-23", "no meeting on 2026-12-23"),
        ("meeting skip 2026-12-08", "2026-12-08 is in the past"),
        ("meeting move 2026-12-22 2026-12-11", "2026-12-11 is in the past"),
        ("meeting move 2026-12-22", "Say `meeting skip 2026-12-22`"),
        ("meeting move 2026-12-22 2026-12-22", "already on 2026-12-22"),
        ("meeting move 2026-12-22 2026-12-29", "already meets at Tue 29 Dec, 4:00 PM PST"),
        ("meeting move 2026-12-22 2027-02-30", "can't read “2027-02-30”"),
        ("meeting skip tuesday", "can't read “tuesday”"),
    ]:
        assert reason in await say(stack, "ana", typed), typed
    async with stack.sessions() as session:
        (meeting,) = await schedules.for_team(session, team.id, "meeting")
        assert await schedule_exceptions(session, meeting.id) == {}
    assert "Done" in await say(stack, "ana", "meeting skip 2026-12-15")
    assert "Done" in await say(stack, "ben", "meeting move 2026-12-22 2026-12-21")
    assert "Mon 21 Dec, 4:00 PM PST" in await say(stack, "cy", "team")  # the next meeting, as it now is
    async with stack.sessions() as session:
        assert await schedule_exceptions(session, meeting.id) == {
            "2026-12-15T16:00:00": None,
            "2026-12-22T16:00:00": "2026-12-21T16:00:00",
        }
    # a meeting whose reminder already went out cannot be changed
    stack.clock.set(datetime(2026, 12, 21, 23, 45, tzinfo=UTC))  # 15:45 on the 21st, after its reminder
    assert "already gone out" in await say(stack, "ana", "meeting skip 2026-12-21")


async def test_a_quarterly_poll_on_a_federal_holiday_opens_the_next_working_day(stack: Stack) -> None:
    stack.clock.set(datetime(2026, 10, 1, 16, 0, tzinfo=UTC))
    # the second Monday of October 2026 is Columbus Day / Indigenous Peoples' Day
    team = await stack.import_team(
        team_spec(us_federal_holidays=True, pulse={"every": "quarterly", "start": "2026-10-12"})
    )
    for day in (date(2026, 10, 12), date(2026, 10, 13)):
        for _ in range(2):
            await stack.run_until(local_moment(day, time(9, 0), LA))
        async with stack.sessions() as session:
            opened = await pulse.open_poll(session, team.id)
        assert (opened is None) == (day == date(2026, 10, 12))
    assert opened is not None and opened.opened_local == "2026-10-13T09:00:00"
    statuses = [(c.occurrence_local, c.status) for c in await claims(stack, team.id, "pulse.quarterly")]
    assert statuses == [("2026-10-12T09:00:00", "moved"), ("2026-10-13T09:00:00", "ran")]

"""When people are asked: at 9:00 in each person's own zone, across the November DST change; never while
away; on the next working day when the run falls on a team holiday."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from storage import calendar, schedules
from tests.checkins.conftest import dms, invitations, runs, set_up
from tests.conftest import Stack

LA = ("ana", "cy", "ed", "fay")
NY = ("ben", "di")


def _asked(stack: Stack, users: tuple[str, ...]) -> dict[str, int]:
    return {u: len(invitations(stack, u)) for u in users}


async def test_each_person_is_asked_at_nine_in_their_own_zone_across_the_dst_change(stack: Stack) -> None:
    team_id = await set_up(stack)
    # 26 Oct (daylight time): New York's 9:00 is 13:00 UTC, Los Angeles' 16:00 UTC
    # 2 Nov (standard time): New York's 9:00 is 14:00 UTC, Los Angeles' 17:00 UTC
    for day, ny_utc, la_utc in ((26, 13, 16), (2, 14, 17)):
        month = 10 if day == 26 else 11
        before = _asked(stack, LA + NY)
        nine_ny = datetime(2026, month, day, ny_utc, 0, tzinfo=UTC)
        nine_la = datetime(2026, month, day, la_utc, 0, tzinfo=UTC)
        await stack.run_until(nine_ny - timedelta(hours=30))  # before the run is prepared
        await stack.run_until(nine_ny - timedelta(minutes=1))  # prepared: everything waits in the outbox
        assert _asked(stack, LA + NY) == before
        await stack.run_until(nine_ny)
        assert all(len(invitations(stack, u)) == before[u] + 1 for u in NY)
        assert all(len(invitations(stack, u)) == before[u] for u in LA)
        await stack.run_until(nine_la - timedelta(minutes=1))
        assert all(len(invitations(stack, u)) == before[u] for u in LA)
        await stack.run_until(nine_la)
        assert all(len(invitations(stack, u)) == before[u] + 1 for u in LA + NY)
    assert [r.run_day for r in await runs(stack, team_id)] == ["2026-10-26", "2026-11-02"]
    invitation = invitations(stack, "cy")[0]
    assert "not anonymous" in invitation and "[ Check in ]" in invitation


async def test_a_person_away_is_neither_asked_nor_reminded(stack: Stack) -> None:
    team_id = await set_up(stack)
    async with stack.sessions() as session, session.begin():
        people = {m.name.split()[0].lower(): m.person_id for m in await _members(session, team_id)}
        await calendar.add_away(session, team_id, people["cy"], date(2026, 10, 22), date(2026, 10, 30))
    await stack.run_until(datetime(2026, 10, 26, 17, 0, tzinfo=UTC))
    assert invitations(stack, "cy") == []
    assert len(invitations(stack, "fay")) == 1
    (run,) = await runs(stack, team_id)
    assert people["cy"] not in run.asked and len(run.asked) == 5
    assert run.remind_at is not None
    await stack.run_until(run.remind_at + timedelta(minutes=1))
    assert dms(stack, "cy") == []
    assert len(dms(stack, "fay", "Reminder:")) == 1


async def test_a_run_on_a_team_holiday_moves_to_the_next_working_day(stack: Stack) -> None:
    team_id = await set_up(stack, ny=())
    async with stack.sessions() as session, session.begin():
        await calendar.add_holiday(session, team_id, date(2026, 10, 26), "Staff day")
    await stack.run_until(datetime(2026, 10, 26, 23, 0, tzinfo=UTC))
    assert invitations(stack, "ana") == []  # nobody is asked on the holiday
    await stack.run_until(datetime(2026, 10, 27, 16, 0, tzinfo=UTC))  # Tuesday, 9:00 in Los Angeles
    assert len(invitations(stack, "ana")) == 1
    (run,) = await runs(stack, team_id)
    assert run.run_day == "2026-10-27"
    # two working days later, at 9:00 in the team's zone: Thursday 29 October
    assert run.closes_at == datetime(2026, 10, 29, 16, 0, tzinfo=UTC)


async def _members(session, team_id):  # type: ignore[no-untyped-def]
    from storage import teams

    return await teams.members(session, team_id)


async def test_a_co_chair_sets_the_cadence_in_words_and_a_wrong_word_changes_nothing(stack: Stack) -> None:
    team_id = await set_up(stack)
    await stack.local.command("ana", "checkin schedule every other Tuesday 10:00", channel="team-channel")
    await stack.worker.drain()
    said = stack.local.transcript[-1].text
    assert "every other Tuesday, at 10:00" in said and "open for 2 working days" in said, said
    async with stack.sessions() as session:
        (row,) = await schedules.for_team(session, team_id, "checkin.run")
    assert (row.rrule, row.settings["at"]) == ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU", "10:00")
    await stack.local.command("ana", "checkin schedule every 9 weeks window=1", channel="team-channel")
    await stack.worker.drain()
    said = stack.local.transcript[-1].text
    assert "I don't understand “9”" in said and "`every 3 weeks`" in said, said  # and how to say it
    async with stack.sessions() as session:
        (row,) = await schedules.for_team(session, team_id, "checkin.run")
    assert (row.rrule, row.settings["window_days"]) == ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU", 2)
    await stack.local.command("ana", "checkin schedule weekly window=1", channel="team-channel")
    await stack.worker.drain()
    assert "every Tuesday, at 10:00" in stack.local.transcript[-1].text
    assert "for 1 working day." in stack.local.transcript[-1].text


async def test_a_reminder_that_would_fall_on_a_weekend_comes_on_the_friday(stack: Stack) -> None:
    from tests.checkins.conftest import checkin_spec

    # every Wednesday, open three working days (Thursday, Friday, Monday): closes Monday 9:00, and the
    # reminder a day before would be Sunday
    spec = checkin_spec(every="FREQ=WEEKLY;BYDAY=WE", start="2026-10-28", window_days=3, remind_hours=24)
    team_id = await set_up(stack, spec, ny=())
    await stack.run_until(datetime(2026, 10, 28, 16, 0, tzinfo=UTC))  # Wednesday, 9:00 in Los Angeles
    (run,) = await runs(stack, team_id)
    assert run.closes_at == datetime(2026, 11, 2, 17, 0, tzinfo=UTC)  # Monday 9:00 PST (after the change)
    assert run.remind_at == datetime(2026, 10, 30, 16, 0, tzinfo=UTC)  # Friday 9:00 PDT, not Sunday
    await stack.run_until(datetime(2026, 10, 30, 16, 1, tzinfo=UTC))
    assert len(dms(stack, "cy", "Reminder:")) == 1

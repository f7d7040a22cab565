"""Reminders through the real engine tick, outbox and local adapter: owner-local 9:00, holidays and away
days skipped, at most four overdue, quiet for an owner who updated the item in the last day, each sent
once however often the tick runs; the digest reaches both co-chairs at the same moment; overdue items are
never listed by person in a channel."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from storage import action_items as store
from storage import calendar, schedules, teams
from storage.models import OutboxMessage
from tests.actions.test_capture_and_status import MONDAY, _items, _say, _setup
from tests.conftest import Stack, team_spec

# exactly-once claims and the reminder index: a storage behaviour, on PostgreSQL as well (tests/conftest.py)
# Reminders' stored times, withdrawals and policy run on PostgreSQL as well; what a message says, on SQLite
# alone (tests/conftest.py).


def at(day: int, hour: int, month: int = 12, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, 0, tzinfo=UTC)


async def _people(stack: Stack, team_id: int) -> dict[str, int]:
    async with stack.sessions() as session:
        return {m.name.split()[0].lower(): m.person_id for m in await teams.members(session, team_id)}


def reminders(stack: Stack, since: int) -> list[tuple[str, str]]:
    """(who, what) of the reminder DMs sent since transcript position `since`."""
    found = []
    for entry in stack.local.transcript[since:]:
        if entry.where.startswith("DM to") and "You get this because you're an owner" in entry.text:
            kind = "overdue" if "was due" in entry.text else "due" if "due today" in entry.text else "before"
            found.append((entry.where.removeprefix("DM to "), kind))
    return found


@pytest.mark.both_databases
async def test_reminders_at_owner_local_nine_capped_and_quiet_after_an_update(stack: Stack) -> None:
    team_id = await _setup(stack)
    people = await _people(stack, team_id)
    async with stack.sessions() as session, session.begin():
        await calendar.set_person_timezone(session, people["cy"], "America/New_York")
    await _say(stack, "ana", 'action "Draft the survey to staff" @0 @1 due 2026-12-04', ["cy", "di"])
    [item] = await _items(stack, team_id)
    # Di adds a progress note on Tuesday afternoon: no reminder for her within the next 24 hours
    stack.clock.set(at(1, 20))
    await stack.local.click("di", "actions.update", str(item.id))
    assert stack.local.last_form is not None
    await stack.local.submit(
        "di",
        stack.local.last_form,
        {"title": item.title, "due": "2026-12-04", "status": "open", "note": "outline ready"},
    )
    await stack.worker.drain()

    mark = len(stack.local.transcript)
    await stack.run_until(at(2, 13) + timedelta(minutes=59))  # 8:59 in New York
    assert reminders(stack, mark) == []
    await stack.run_until(at(2, 14))  # 9:00 in New York: Cy, two working days before
    assert reminders(stack, mark) == [("cy", "before")]
    await stack.run_until(at(2, 17))  # 9:00 in Los Angeles: Di updated it 21 hours ago, stays quiet
    await stack.run_until(at(2, 17))  # the tick again at the same moment sends nothing twice
    assert reminders(stack, mark) == [("cy", "before")]
    mark = len(stack.local.transcript)
    await stack.run_until(at(4, 14))
    await stack.run_until(at(4, 17))
    assert reminders(stack, mark) == [("cy", "due"), ("di", "due")]
    # overdue: weekly, at most four each
    mark = len(stack.local.transcript)
    for week in range(1, 7):
        moment = at(4, 17) + timedelta(weeks=week)
        await stack.run_until(moment - timedelta(hours=3))
        await stack.run_until(moment)
    got = reminders(stack, mark)
    assert got.count(("cy", "overdue")) == 4 and got.count(("di", "overdue")) == 4
    async with stack.sessions() as session:
        counts = await store.reminder_counts(session)
    assert counts == {"sent": 11, "quiet": 1}
    # the wording is neutral and private: every reminder went to a DM, none to the channel
    assert not any("was due" in t.text for t in stack.local.transcript if t.where.startswith("#"))


async def test_holidays_and_away_days_move_reminders(stack: Stack) -> None:
    team_id = await _setup(stack)
    people = await _people(stack, team_id)
    async with stack.sessions() as session, session.begin():
        await calendar.add_holiday(session, team_id, date(2026, 12, 4), "Staff day")
        await calendar.add_away(session, team_id, people["cy"], date(2026, 12, 7), date(2026, 12, 7))
    await _say(stack, "ana", 'action "Order the books" @0 due 2026-12-04', ["cy"])
    mark = len(stack.local.transcript)
    seen = {}
    for day in (2, 3, 4, 7, 8):
        await stack.run_until(at(day, 17))
        seen[day] = reminders(stack, mark)
        mark = len(stack.local.transcript)
    # two working days before; not on the holiday (the due date) nor the away Monday: on Tuesday
    assert seen == {2: [("cy", "before")], 3: [], 4: [], 7: [], 8: [("cy", "due")]}


async def test_the_digest_reaches_both_co_chairs_at_the_same_moment(stack: Stack) -> None:
    team_id = await _setup(stack)
    await _say(stack, "cy", 'action "Book the room" due 2026-12-02')
    await _say(stack, "cy", 'action "Send the agenda" due 2026-12-10')
    async with stack.sessions() as session:
        [digest] = await schedules.for_team(session, team_id, "actions.digest")
    assert digest.next_occurrence_local == "2026-12-07T08:00:00"
    await stack.run_until(at(7, 16) - timedelta(minutes=1))  # prepared ahead, held until 8:00
    async with stack.sessions() as session:
        rows = (
            (await session.execute(select(OutboxMessage).where(OutboxMessage.team_id == team_id)))
            .scalars()
            .all()
        )
        digests = [r for r in rows if "This week's promises" in str(r.payload)]
    assert len(digests) == 2
    assert {r.target["user"] for r in digests} == {"ana", "ben"}
    assert digests[0].next_attempt_at == digests[1].next_attempt_at == at(7, 16)  # 8:00 PST, both at once
    assert {r.status for r in digests} == {"pending"}
    await stack.run_until(at(7, 16))
    sent = [t for t in stack.local.transcript if "This week's promises" in t.text]
    assert sorted(t.where for t in sent) == ["DM to ana", "DM to ben"]
    assert "Book the room" in sent[0].text and "1 past their due date" in sent[0].text


async def test_overdue_items_are_never_listed_by_person_in_a_channel(stack: Stack) -> None:
    await _setup(stack)
    await _say(stack, "cy", 'action "Book the room" due 2026-12-02')
    await _say(stack, "di", 'action "Send the agenda" due 2026-12-10')
    stack.clock.set(at(4, 18))
    channel = await _say(stack, "ana", "actions")
    overdue, found, upcoming = channel.partition("Week of")
    assert found and "Book the room" in overdue and "Cy Teacher" not in overdue
    assert "Send the agenda" in upcoming and "Di Principal" in upcoming
    assert "Send the agenda" in channel and "Di Principal" in channel  # not overdue: owners shown
    direct = await _say(stack, "ana", "actions", channel=None)  # a private conversation
    assert "Cy Teacher" in direct
    mine = await _say(stack, "cy", "actions mine", channel=None)
    assert "Book the room" in mine and "Send the agenda" not in mine
    assert at(4, 18) > MONDAY


@pytest.mark.both_databases
async def test_a_reminder_prepared_ahead_is_withdrawn_when_the_item_is_done_first(stack: Stack) -> None:
    team_id = await _setup(stack)
    await _say(stack, "ana", 'action "Order the books" @0 due 2026-12-04', ["cy"])
    [item] = await _items(stack, team_id)
    mark = len(stack.local.transcript)
    await stack.run_until(at(2, 17) - timedelta(minutes=1))  # prepared, waiting for 9:00
    async with stack.sessions() as session:
        assert await store.reminder_counts(session) == {"sent": 1}
    await _say(stack, "cy", f"actions done {item.id}")
    await stack.run_until(at(2, 17))
    assert reminders(stack, mark) == []
    async with stack.sessions() as session:
        assert await store.reminder_counts(session) == {"withdrawn": 1}


@pytest.mark.both_databases
async def test_a_co_chair_changes_the_policy_and_reminders_follow_it(stack: Stack) -> None:
    await _setup(stack)
    await _say(stack, "cy", 'action "Order the books" due 2026-12-04')
    refused = await _say(stack, "cy", "actions policy before 3")
    assert "Only a co-chair" in refused
    assert "Write it as" in await _say(stack, "ana", "actions policy before soon")
    changed = await _say(stack, "ana", "actions policy before 3 at 8:30 max 1")
    assert "3 working days before" in changed and "at most 1" in changed and "at 8:30" in changed
    mark = len(stack.local.transcript)
    await stack.run_until(datetime(2026, 12, 1, 16, 30, tzinfo=UTC))  # Tue 8:30 in Los Angeles
    assert reminders(stack, mark) == [("cy", "before")]


@pytest.mark.both_databases
async def test_nine_in_the_morning_stays_nine_across_the_end_of_daylight_saving(stack: Stack) -> None:
    stack.clock.set(datetime(2026, 10, 28, 18, 0, tzinfo=UTC))  # Wed 28 Oct, 11:00 PDT
    await stack.import_team(team_spec())
    await _say(stack, "ana", 'action "Post the minutes" @0 due 2026-11-03', ["cy"])  # Tue, after 1 Nov
    mark = len(stack.local.transcript)
    await stack.run_until(datetime(2026, 10, 30, 16, 0, tzinfo=UTC))  # Fri 9:00 PDT
    assert reminders(stack, mark) == [("cy", "before")]
    await stack.run_until(datetime(2026, 11, 3, 16, 0, tzinfo=UTC))  # Tue 8:00 PST: not yet
    assert reminders(stack, mark) == [("cy", "before")]
    await stack.run_until(datetime(2026, 11, 3, 17, 0, tzinfo=UTC))  # Tue 9:00 PST
    assert reminders(stack, mark) == [("cy", "before"), ("cy", "due")]

"""Pure rules: due dates as people type them (team-local today, year end, DST) and the reminder slots
(owner-local 9:00 across a DST change, working days, holidays, away days, the overdue cap)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from flows.actions.capture import CaptureError, parse_capture
from flows.actions.dates import parse_due, today_in
from flows.actions.policy import Policy, slots
from flows.core.calendar import local_moment
from flows.core.types import Actor
from storage.action_items import ItemView, count_follow_through, quarter_bounds
from storage.calendar import TeamCalendar

WEEKDAYS = frozenset({0, 1, 2, 3, 4})
LA = "America/Los_Angeles"


def cal(holidays: dict[date, str] | None = None) -> TeamCalendar:
    return TeamCalendar(team_id=1, timezone=LA, workdays=WEEKDAYS, holidays=holidays or {})


def test_due_dates_as_people_type_them() -> None:
    monday = date(2026, 11, 30)
    assert parse_due("2026-12-04", monday) == date(2026, 12, 4)
    assert parse_due("friday", monday) == date(2026, 12, 4)
    assert parse_due("Fri", monday) == date(2026, 12, 4)
    assert parse_due("monday", monday) == date(2026, 12, 7)  # never today: the next Monday
    assert parse_due("tomorrow", monday) == date(2026, 12, 1)
    assert parse_due("in 2 weeks", monday) == date(2026, 12, 14)
    assert parse_due("in a month", monday) == date(2026, 12, 30)
    assert parse_due("next week", monday) == date(2026, 12, 7)
    assert parse_due("someday", monday) is None


def test_year_end_rolls_into_the_next_year() -> None:
    new_years_eve = date(2026, 12, 31)  # a Thursday
    assert parse_due("friday", new_years_eve) == date(2027, 1, 1)
    assert parse_due("in 2 weeks", new_years_eve) == date(2027, 1, 14)
    assert parse_due("in 2 months", date(2026, 12, 31)) == date(2027, 2, 28)
    # 11 PM on 31 December in Los Angeles is already 1 January in UTC: today is the team's
    late = datetime(2027, 1, 1, 7, 0, tzinfo=UTC)
    assert today_in(late, LA) == date(2026, 12, 31)
    assert today_in(late, "Europe/Berlin") == date(2027, 1, 1)
    capture = parse_capture('"Close the books" due tomorrow', (), today_in(late, LA))
    assert capture.due == date(2027, 1, 1)


def test_dst_the_local_day_not_the_utc_one() -> None:
    # 1 November 2026, 01:30 PDT→PST: 08:30 UTC is 01:30 the first time, 09:30 UTC 01:30 again
    assert today_in(datetime(2026, 11, 1, 8, 30, tzinfo=UTC), LA) == date(2026, 11, 1)
    assert today_in(datetime(2026, 11, 1, 6, 59, tzinfo=UTC), LA) == date(2026, 10, 31)
    assert parse_due("in 1 week", date(2026, 10, 29)) == date(2026, 11, 5)


def test_capture_reads_quotes_mentions_and_due() -> None:
    people = (Actor("slack", "U1", "Maria"), Actor("teams", "aad-tom", "Tom"))
    got = parse_capture("“Draft the survey to staff” @0 and @1 due friday", people, date(2026, 11, 30))
    assert (got.title, got.owners, got.due) == ("Draft the survey to staff", people, date(2026, 12, 4))
    got = parse_capture("Order the books @1 due in 3 days", people, date(2026, 11, 30))
    assert (got.title, got.owners) == ("Order the books", (people[1],))
    for text, key in [
        ('"Unclosed due friday', "actions.refuse.unclosed_quote"),
        ('"x" due 2026-11-29', "actions.refuse.past_due"),
        ("due friday", "actions.refuse.empty_title"),
    ]:
        try:
            parse_capture(text, people, date(2026, 11, 30))
        except CaptureError as exc:
            assert exc.key == key, text
        else:
            raise AssertionError(text)


def test_default_slots_are_at_nine_owner_local_and_capped() -> None:
    due = date(2026, 12, 4)  # a Friday
    got = slots(due, Policy(), cal(), "America/New_York")
    assert [(s.kind, s.day) for s in got] == [
        ("before", date(2026, 12, 2)),
        ("due", date(2026, 12, 4)),
        ("overdue", date(2026, 12, 11)),
        ("overdue", date(2026, 12, 18)),
        ("overdue", date(2026, 12, 25)),
        ("overdue", date(2027, 1, 1)),
    ]
    assert all(s.at == local_moment(s.day, time(9), "America/New_York") for s in got)
    assert got[0].at == datetime(2026, 12, 2, 14, 0, tzinfo=UTC)  # 9:00 EST
    assert len({s.key for s in got}) == len(got)


def test_slots_keep_nine_local_across_the_dst_change() -> None:
    due = date(2026, 11, 3)  # a Tuesday; DST ended on Sunday 1 November
    got = slots(due, Policy(), cal(), LA)
    before, on_due = got[0], got[1]
    assert before.day == date(2026, 10, 30) and before.at == datetime(2026, 10, 30, 16, 0, tzinfo=UTC)  # PDT
    assert on_due.at == datetime(2026, 11, 3, 17, 0, tzinfo=UTC)  # PST


def test_holidays_weekends_and_away_days_move_or_drop_a_reminder() -> None:
    due = date(2026, 11, 27)  # Friday after Thanksgiving, a team holiday as is Thursday
    holidays = {date(2026, 11, 26): "Thanksgiving", date(2026, 11, 27): "Day after"}
    got = slots(due, Policy(), cal(holidays), LA)
    # two working days before Friday, skipping Thursday: Tuesday; the due reminder moves to Monday
    assert [(s.kind, s.day) for s in got][:2] == [("before", date(2026, 11, 24)), ("due", date(2026, 11, 30))]
    # away Mon 30 Nov to Wed 2 Dec: the due-day reminder waits for Thursday
    away = ((date(2026, 11, 30), date(2026, 12, 2)),)
    got = slots(date(2026, 11, 30), Policy(), cal(), LA, away)
    assert [(s.kind, s.day) for s in got][:2] == [("before", date(2026, 11, 26)), ("due", date(2026, 12, 3))]
    assert all(s.day.weekday() < 5 for s in got)
    # a policy without early or overdue reminders
    quiet = slots(date(2026, 12, 4), Policy(before_days=0, max_overdue=0), cal(), LA)
    assert [s.kind for s in quiet] == ["due"]


def _item(item_id: int, due: date, status: str, done: datetime | None = None) -> ItemView:
    now = datetime(2026, 10, 1, tzinfo=UTC)
    return ItemView(item_id, 1, f"item {item_id}", status, due, (), now, now, done_at=done)


def test_the_rate_against_a_hand_worked_quarter() -> None:
    """Q4 2026 in Los Angeles, worked by hand: 7 items due in the quarter, 1 dropped (apart), 1 due in
    January (not counted). Met: #1 (done early), #2 (done at 11 PM local on its due date, already the
    next day in UTC), #3 (done on the day). Late: #4. Open past due: #5, #6. So 3 of 6."""
    items = [
        _item(1, date(2026, 10, 15), "done", datetime(2026, 10, 10, 18, tzinfo=UTC)),
        _item(2, date(2026, 11, 20), "done", datetime(2026, 11, 21, 7, 0, tzinfo=UTC)),
        _item(3, date(2026, 12, 31), "done", datetime(2026, 12, 31, 20, tzinfo=UTC)),
        _item(4, date(2026, 11, 2), "done", datetime(2026, 11, 5, 18, tzinfo=UTC)),
        _item(5, date(2026, 12, 1), "open"),
        _item(6, date(2026, 10, 1), "open"),
        _item(7, date(2026, 11, 10), "dropped"),
        _item(8, date(2027, 1, 4), "done", datetime(2026, 12, 1, tzinfo=UTC)),
    ]
    first, last = quarter_bounds(date(2026, 11, 30))
    assert (first, last) == (date(2026, 10, 1), date(2026, 12, 31))
    rate = count_follow_through(items, first, last, LA)
    assert (rate.met, rate.due, rate.late, rate.dropped) == (3, 6, 1, 1)
    assert rate.rate == 0.5
    # in UTC, #2 would have been late: the team's zone decides
    assert count_follow_through(items, first, last, "UTC").met == 2

"""The pure calendar rules (flows/core/calendar.py) and the built-in US federal holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from flows.core.calendar import (
    add_working_days,
    is_away,
    is_working_day,
    local_moment,
    next_working_day,
    us_federal_holiday,
    us_federal_holidays,
)
from storage.calendar import DEFAULT_WORKDAYS, Holidays, TeamCalendar


def calendar(own: dict[date, str] | None = None, federal: bool = False) -> TeamCalendar:
    return TeamCalendar(1, "America/Los_Angeles", DEFAULT_WORKDAYS, Holidays(own or {}, federal))


def test_the_2026_federal_holidays_by_their_rules() -> None:
    assert us_federal_holidays(2026) == {
        date(2026, 1, 1): "New Year's Day",
        date(2026, 1, 19): "Martin Luther King Jr. Day",
        date(2026, 2, 16): "Presidents' Day",
        date(2026, 5, 25): "Memorial Day",
        date(2026, 6, 19): "Juneteenth",
        date(2026, 7, 3): "Independence Day (observed)",  # July 4 2026 is a Saturday
        date(2026, 7, 4): "Independence Day",
        date(2026, 9, 7): "Labor Day",
        date(2026, 10, 12): "Columbus Day / Indigenous Peoples' Day",
        date(2026, 11, 11): "Veterans Day",
        date(2026, 11, 26): "Thanksgiving Day",
        date(2026, 12, 25): "Christmas Day",
    }


def test_observed_days_move_off_weekends_across_the_year_boundary() -> None:
    # 2022: New Year's Day 2022 is a Saturday, observed Friday 2021-12-31; Christmas 2022 a Sunday.
    assert us_federal_holiday(date(2021, 12, 31)) == "New Year's Day (observed)"
    assert date(2021, 12, 31) in us_federal_holidays(2021)
    assert us_federal_holiday(date(2022, 12, 26)) == "Christmas Day (observed)"
    assert us_federal_holiday(date(2027, 6, 18)) == "Juneteenth (observed)"  # a Saturday in 2027
    assert us_federal_holiday(date(2027, 7, 5)) == "Independence Day (observed)"  # a Sunday in 2027
    assert us_federal_holiday(date(2026, 12, 24)) is None
    assert us_federal_holiday(date(2020, 6, 19)) is None  # before Juneteenth became a federal holiday
    # last Monday of May when May has five Mondays; fourth Thursday of November
    assert us_federal_holiday(date(2027, 5, 31)) == "Memorial Day"
    assert us_federal_holiday(date(2027, 11, 25)) == "Thanksgiving Day"


def test_working_days_skip_weekends_own_and_opted_in_federal_holidays() -> None:
    own = calendar({date(2026, 12, 24): "Winter break"})
    assert not is_working_day(date(2026, 12, 24), own)
    assert is_working_day(date(2026, 12, 25), own)  # Christmas only when the team opted in
    both = calendar({date(2026, 12, 24): "Winter break"}, federal=True)
    assert both.holidays[date(2026, 12, 25)] == "Christmas Day"
    assert both.holidays[date(2026, 12, 24)] == "Winter break"
    assert next_working_day(date(2026, 12, 24), both) == date(2026, 12, 28)
    assert next_working_day(date(2026, 12, 28), both) == date(2026, 12, 28)
    assert add_working_days(date(2026, 12, 23), 1, both) == date(2026, 12, 28)
    assert add_working_days(date(2026, 12, 23), 0, both) == date(2026, 12, 23)
    assert add_working_days(date(2026, 12, 28), -1, both) == date(2026, 12, 23)
    assert add_working_days(date(2026, 11, 25), 2, both) == date(2026, 11, 30)  # over Thanksgiving
    listed = both.holidays
    assert isinstance(listed, Holidays)
    assert listed.between(date(2026, 12, 20), date(2027, 1, 2)) == [
        (date(2026, 12, 24), "Winter break"),
        (date(2026, 12, 25), "Christmas Day"),
        (date(2027, 1, 1), "New Year's Day"),
    ]


def test_a_calendar_without_working_days_is_an_error_not_a_hang() -> None:
    nothing = TeamCalendar(1, "UTC", frozenset(), Holidays())
    with pytest.raises(ValueError, match="no working day"):
        next_working_day(date(2026, 1, 1), nothing)
    with pytest.raises(ValueError):
        add_working_days(date(2026, 1, 1), 1, nothing)


def test_away_ranges_are_inclusive() -> None:
    ranges = [(date(2026, 12, 21), date(2027, 1, 4))]
    assert is_away(date(2026, 12, 21), ranges)
    assert is_away(date(2027, 1, 4), ranges)
    assert not is_away(date(2027, 1, 5), ranges)
    assert not is_away(date(2026, 12, 20), [])


@pytest.mark.parametrize(
    ("zone", "before", "after"),
    [
        # 9:00 the Friday before and the Monday after Sunday 2026-11-01, when the US falls back
        (
            "America/Los_Angeles",
            datetime(2026, 10, 30, 16, 0, tzinfo=UTC),
            datetime(2026, 11, 2, 17, 0, tzinfo=UTC),
        ),
        (
            "America/New_York",
            datetime(2026, 10, 30, 13, 0, tzinfo=UTC),
            datetime(2026, 11, 2, 14, 0, tzinfo=UTC),
        ),
    ],
)
def test_local_moment_keeps_the_wall_clock_across_the_november_change(
    zone: str, before: datetime, after: datetime
) -> None:
    assert local_moment(date(2026, 10, 30), time(9, 0), zone) == before
    assert local_moment(date(2026, 11, 2), time(9, 0), zone) == after
    assert local_moment(date(2026, 11, 2), time(9, 0), zone).tzinfo is UTC


def test_local_moment_in_a_fold_takes_the_first_and_in_a_gap_moves_forward() -> None:
    # 01:30 happens twice on 2026-11-01 in Los Angeles: first at PDT (UTC-7)
    assert local_moment(date(2026, 11, 1), time(1, 30), "America/Los_Angeles") == datetime(
        2026, 11, 1, 8, 30, tzinfo=UTC
    )
    # 02:30 does not happen on 2027-03-14 in New York: it is 03:30 EDT (07:30 UTC)
    assert local_moment(date(2027, 3, 14), time(2, 30), "America/New_York") == datetime(
        2027, 3, 14, 7, 30, tzinfo=UTC
    )


def test_local_moment_refuses_an_unknown_zone() -> None:
    with pytest.raises(ValueError, match="unknown IANA time zone"):
        local_moment(date(2026, 11, 2), time(9, 0), "Mars/Olympus_Mons")


def test_occurrences_with_a_skip_and_a_move_across_the_november_change() -> None:
    from datetime import timedelta

    from flows.core.occurrences import Occurrences
    from flows.core.recurrence import Recurrence

    weekly = Recurrence("FREQ=WEEKLY;BYDAY=TU", datetime(2026, 10, 20, 16, 0), "America/Los_Angeles")
    lead = Recurrence(weekly.rule_text, weekly.dtstart_local, weekly.timezone, lead=timedelta(minutes=30))
    occurrences = Occurrences(
        lead, {"2026-10-27T16:00:00": None, "2026-11-03T16:00:00": "2026-11-05T16:00:00"}
    )
    assert occurrences.first_after(None) == datetime(2026, 10, 20, 16, 0)
    assert occurrences.first_after(datetime(2026, 10, 20, 16, 0)) == datetime(2026, 11, 5, 16, 0)
    assert occurrences.first_after(datetime(2026, 11, 5, 16, 0)) == datetime(2026, 11, 10, 16, 0)
    assert occurrences.between(datetime(2026, 10, 20), datetime(2026, 11, 11)) == [
        datetime(2026, 10, 20, 16, 0),
        datetime(2026, 11, 5, 16, 0),
        datetime(2026, 11, 10, 16, 0),
    ]
    # the moved meeting fires 30 minutes before 16:00 PST (after the change): 23:30 UTC
    assert occurrences.fire_at(datetime(2026, 11, 5, 16, 0)) == datetime(2026, 11, 5, 23, 30, tzinfo=UTC)
    due = datetime(2026, 11, 5, 23, 30, tzinfo=UTC)
    assert occurrences.latest_due(datetime(2026, 10, 21), due) == datetime(2026, 11, 5, 16, 0)
    assert occurrences.latest_due(datetime(2026, 10, 21), due - timedelta(seconds=1)) is None
    assert occurrences.first_firing_after(datetime(2026, 10, 21, tzinfo=UTC)) == datetime(2026, 11, 5, 16, 0)
    assert occurrences.keys() == {"2026-10-27T16:00:00": None, "2026-11-03T16:00:00": "2026-11-05T16:00:00"}

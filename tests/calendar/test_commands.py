"""`away`, `holiday`, `holidays` in chat: what is stored, who may, and bad input stores nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.calendar.helpers import channel_posts, read, say
from tests.conftest import Stack, team_spec

NOW = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)  # Monday 30 Nov 2026, 10:00 in Los Angeles


@pytest.fixture
async def team_id(stack: Stack) -> int:
    stack.clock.set(NOW)
    return (await stack.import_team(team_spec())).id


async def test_away_a_range_a_day_shown_and_cleared(stack: Stack, team_id: int) -> None:
    assert "you're away Mon 21 Dec 2026 to Mon 4 Jan 2027" in await say(
        stack, "cy", "away 2026-12-21..2027-01-04"
    )
    assert "Fri 5 Feb 2027" in await say(stack, "cy", "away 2027-02-05")
    shown = await say(stack, "cy", "away")
    assert "Mon 21 Dec 2026 to Mon 4 Jan 2027" in shown and "Fri 5 Feb 2027" in shown
    _, away = await read(stack, team_id)
    assert list(away.values()) == [
        ((date(2026, 12, 21), date(2027, 1, 4)), (date(2027, 2, 5), date(2027, 2, 5)))
    ]
    assert "away days are cleared" in await say(stack, "cy", "away off")
    assert "no away days coming up" in await say(stack, "cy", "away")
    assert (await read(stack, team_id))[1] == {}


BAD_AWAY = [
    ("away 2027-01-04..2026-12-21", "ends (2026-12-21) before it starts (2027-01-04)"),
    ("away 2026-11-29", "2026-11-29 is in the past (today is 2026-11-30"),
    ("away 2026-11-20..2026-12-02", "2026-11-20 is in the past"),
    ("away 2026-13-01", "can't read “2026-13-01” as a date"),
    ("away next week", "can't read “next week” as a date"),
    ("away 2026-12-21..", "can't read “” as a date"),
    ("away 21/12/2026", "can't read “21/12/2026” as a date"),
]


async def test_a_bad_away_range_is_explained_and_nothing_is_stored(stack: Stack, team_id: int) -> None:
    for typed, reason in BAD_AWAY:
        reply = await say(stack, "cy", typed)
        assert reason in reply, typed
        assert "Nothing was saved" in reply or "can't read" in reply
    assert (await read(stack, team_id))[1] == {}


async def test_holidays_co_chairs_add_and_remove_and_everyone_sees_them(stack: Stack, team_id: int) -> None:
    assert "Only a co-chair can change the team's holidays" in await say(
        stack, "cy", 'holiday add 2026-12-24 "Winter break"'
    )
    assert date(2026, 12, 24) not in (await read(stack, team_id))[0].holidays
    assert "Done" in await say(stack, "ana", 'holiday add 2026-12-24 "Winter break"')
    assert any(
        "Ana Labor added a team holiday: Winter break, Thu 24 Dec 2026" in p for p in channel_posts(stack)
    )
    assert "already has a holiday on Thu 24 Dec 2026: Winter break" in await say(
        stack, "ben", "holiday add 2026-12-24 Other"
    )
    listed = await say(stack, "cy", "holidays")
    assert "Thu 24 Dec 2026: Winter break" in listed and "Christmas" not in listed
    assert "are not included" in listed
    assert await say(stack, "cy", "holiday list") == listed  # `holidays` is `holiday` with nothing after it
    assert "Done" in await say(stack, "ben", "holiday us on")
    listed = await say(stack, "cy", "holidays")
    assert (
        "Fri 25 Dec 2026: Christmas Day" in listed and "Mon 18 Jan 2027: Martin Luther King Jr. Day" in listed
    )
    cal, _ = await read(stack, team_id)
    assert cal.holidays[date(2026, 12, 24)] == "Winter break"
    assert cal.holidays[date(2027, 1, 1)] == "New Year's Day"
    assert "Done" in await say(stack, "ana", "holiday remove 2026-12-24")
    assert "no holiday of its own on Thu 24 Dec 2026" in await say(stack, "ana", "holiday remove 2026-12-24")
    assert "Done" in await say(stack, "ana", "holiday us off")
    cal, _ = await read(stack, team_id)
    assert date(2026, 12, 24) not in cal.holidays and date(2026, 12, 25) not in cal.holidays


BAD_HOLIDAY = [
    ('holiday add 2026-11-26 "Thanksgiving"', "2026-11-26 is in the past"),
    ('holiday add 2026-02-30 "Nope"', "can't read “2026-02-30” as a date"),
    ("holiday add 2026-12-24", "Give the holiday a name"),
    ('holiday add 2026-12-24 ""', "Give the holiday a name"),
    ("holiday us maybe", "Say `holiday us on` or `holiday us off`"),
    ("holiday rename 2026-12-24", "I don't know “holiday rename”"),
]


async def test_a_bad_holiday_is_explained_and_nothing_is_stored(stack: Stack, team_id: int) -> None:
    for typed, reason in BAD_HOLIDAY:
        assert reason in await say(stack, "ana", typed), typed
    cal, _ = await read(stack, team_id)
    assert list(cal.holidays) == []


async def test_the_team_file_sets_holidays_the_federal_calendar_and_working_days(stack: Stack) -> None:
    stack.clock.set(NOW)
    spec = team_spec(
        holidays=[
            {"date": "2026-12-24", "name": "Winter break"},
            {"date": date(2027, 3, 29), "name": "Spring break"},
        ],
        us_federal_holidays=True,
        working_days=["mon", "Tuesday", "WE", "thu"],
    )
    team = await stack.import_team(spec)
    cal, _ = await read(stack, team.id)
    assert cal.workdays == frozenset({0, 1, 2, 3})
    assert cal.holidays[date(2027, 3, 29)] == "Spring break"
    assert cal.holidays[date(2026, 11, 26)] == "Thanksgiving Day"
    # importing again without the fields leaves the calendar as it is; with them, replaces it
    await stack.import_team(team_spec())
    assert (await read(stack, team.id))[0] == cal
    await stack.import_team(team_spec(holidays=[], us_federal_holidays=False))
    cal, _ = await read(stack, team.id)
    assert list(cal.holidays) == [] and cal.workdays == frozenset({0, 1, 2, 3})


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        (
            {"holidays": [{"date": "2026-12-24", "name": "A"}, {"date": "2026-12-24", "name": "B"}]},
            "2026-12-24 is listed twice",
        ),
        ({"holidays": [{"date": "2026-12-32", "name": "A"}]}, "holidays.0.date"),
        ({"holidays": [{"date": "2026-12-24"}]}, "holidays.0.name"),
        ({"holidays": [{"date": "2026-12-24", "name": "A", "when": "x"}]}, "holidays.0.when"),
        ({"working_days": ["mon", "funday"]}, "unknown weekday 'funday'"),
        ({"working_days": []}, "working_days: give at least one day"),
        ({"us_federal_holidays": "sometimes"}, "us_federal_holidays"),
    ],
)
def test_bad_calendar_fields_in_the_team_file_are_refused_by_name(
    fields: dict[str, object], reason: str
) -> None:
    from flows.setup.team_file import TeamFileError, parse_team_file

    with pytest.raises(TeamFileError, match=reason):
        parse_team_file(team_spec(**fields))

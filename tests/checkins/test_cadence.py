"""`checkin schedule` in words: the cadence people type becomes the RRULE the schedule keeps."""

from __future__ import annotations

import pytest

from flows.checkins.cadence import CadenceError, cadence_rule

BIWEEKLY_MONDAY = "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO"


@pytest.mark.parametrize(
    ("typed", "rule"),
    [
        ("every other Tuesday", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"),
        ("weekly on Tuesdays", "FREQ=WEEKLY;BYDAY=TU"),
        ("every Thursday", "FREQ=WEEKLY;BYDAY=TH"),
        ("every 3 weeks on fri", "FREQ=WEEKLY;INTERVAL=3;BYDAY=FR"),
        ("every two weeks", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO"),  # the day kept
        ("weekly", "FREQ=WEEKLY;BYDAY=MO"),
        ("biweekly wed", "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE"),
        ("monthly", "FREQ=MONTHLY;BYDAY=1MO"),  # the first Monday of each month
        ("every month on Wednesday", "FREQ=MONTHLY;BYDAY=1WE"),
        ("Wednesday", "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE"),  # the cadence kept, the day moved
    ],
)
def test_a_cadence_in_words(typed: str, rule: str) -> None:
    assert cadence_rule(typed.split(), BIWEEKLY_MONDAY) == rule


def test_a_day_alone_keeps_a_monthly_cadence() -> None:
    assert cadence_rule(["friday"], "FREQ=MONTHLY;BYDAY=1MO") == "FREQ=MONTHLY;BYDAY=1FR"


@pytest.mark.parametrize(("typed", "word"), [("every 9 weeks", "9"), ("every other blursday", "blursday")])
def test_what_is_not_a_cadence_is_named(typed: str, word: str) -> None:
    with pytest.raises(CadenceError) as refused:
        cadence_rule(typed.split(), BIWEEKLY_MONDAY)
    assert refused.value.word == word

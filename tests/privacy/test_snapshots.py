"""A reader who copies the whole database just before and just after each submission (and the edit) sees
exactly what that one person's submission wrote: it must show nothing of their answers, not even the
length of their comment; and the released ballots must keep nothing of those copies."""

from __future__ import annotations

import pytest

from tests.privacy.attacks import Truth, assert_no_success, carried_over, length_leaks, step_diffs
from tests.privacy.conftest import MOMENTS_CLOSED, PollRun

pytestmark = pytest.mark.both_databases  # a storage behaviour: on PostgreSQL as well (tests/conftest.py)


async def test_a_submission_adds_nothing_that_shows_the_answers(poll_run: PollRun) -> None:
    """The rows a submission (or the edit) adds, changes or removes, every table, every column, and xmin on
    PostgreSQL: they name the person, by design; they must show none of what they answered."""
    assert [s.kind for s in poll_run.steps] == ["submit"] * 8 + ["edit"]
    truth = Truth.of(poll_run)
    assert_no_success(truth.successes(step_diffs(poll_run.steps, poll_run.known_comments())))


async def test_what_a_submission_adds_does_not_grow_with_the_comment(poll_run: PollRun) -> None:
    """Comments of 5 to 400 bytes: no column of what the eight submissions add may grow with them (a sealed
    value must be padded to one size)."""
    lengths = {r.person_id: len(r.comments[0].encode()) for r in poll_run.respondents.values()}
    assert len(set(lengths.values())) == len(lengths) and max(lengths.values()) >= 10 * min(lengths.values())
    leaks = length_leaks(poll_run.steps, lengths)
    assert_no_success(
        leaks, "column(s) whose size, in what a submission adds, gives its comment's length away"
    )


async def test_the_released_ballots_keep_nothing_seen_while_the_poll_was_open(poll_run: PollRun) -> None:
    """No released ballot or comment shares an id, hash or row with what one person's submission added."""
    truth = Truth.of(poll_run)
    guesses = [
        guess for moment in MOMENTS_CLOSED for guess in carried_over(poll_run.steps, poll_run.moments[moment])
    ]
    assert_no_success(truth.successes(guesses))

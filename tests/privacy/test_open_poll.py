"""While the poll is open, a database reader learns who has answered (reminders need it) and nothing of
what: after the first answer, after three of eight, after all eight, and after one of them edits."""

from __future__ import annotations

import pytest

from tests.privacy.attacks import (
    Truth,
    assert_no_success,
    comment_ballot_links,
    history_diffs,
    static_attacks,
)
from tests.privacy.conftest import MOMENTS_OPEN, PollRun

pytestmark = pytest.mark.both_databases  # a storage behaviour: on PostgreSQL as well (tests/conftest.py)


async def test_a_reader_of_the_open_poll_ties_no_one_to_their_answers(poll_run: PollRun) -> None:
    """xmin joins, stored order, timestamps, keys and payloads, shared values, and the crowd of one, on the
    whole database at each moment."""
    truth = Truth.of(poll_run)
    guesses = [
        guess
        for moment in MOMENTS_OPEN
        for guess in static_attacks(poll_run.moments[moment], poll_run.orders(), poll_run.known_comments())
    ]
    assert_no_success(truth.successes(guesses))


async def test_a_copy_of_the_open_poll_ties_no_one_to_their_answers(poll_run: PollRun) -> None:
    """The same attacks on a dump (pg_dump --data-only; SQLite's .dump), and on SQLite the write-ahead log
    replayed transaction by transaction."""
    truth = Truth.of(poll_run)
    guesses = [
        guess
        for moment in MOMENTS_OPEN
        for guess in static_attacks(poll_run.dumps[moment], poll_run.orders(), poll_run.known_comments())
    ]
    guesses += history_diffs(poll_run.wal_until("edited"), poll_run.known_comments())
    assert_no_success(truth.successes(guesses))


async def test_no_comment_is_tied_to_a_ballot_while_the_poll_is_open(poll_run: PollRun) -> None:
    """A comment's writing style can name its author; a comment linked to a ballot gives the answers too."""
    truth = Truth.of(poll_run)
    linked = [
        f"{moment}: {how}: comment {comment[:24]!r}… with {list(vector)}"
        for moment in MOMENTS_OPEN
        for comment, vector, how in comment_ballot_links(poll_run.moments[moment])
        if truth.same_person(comment, vector)
    ]
    assert_no_success(linked, "comment(s) tied to their ballot")

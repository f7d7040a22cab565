"""After release (and after the private messages are forgotten), the answers are all there, as a
multiset, and nothing ties any of them to a person."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.privacy.attacks import (
    ANSWER_TABLES,
    Directory,
    Truth,
    answer_layout,
    assert_no_success,
    ballots_in,
    comments_of,
    history_diffs,
    log_lines,
    person_columns,
    static_attacks,
    vectors_in,
)
from tests.privacy.conftest import MOMENTS_CLOSED, Image, PollRun

pytestmark = pytest.mark.both_databases  # a storage behaviour: on PostgreSQL as well (tests/conftest.py)


def assert_everything_released_and_nobody_beside_it(run: PollRun, image: Image) -> None:
    """The facts the attacks need: the answers are really there (so the attacks have something to tie),
    and no column of the answer tables is a person or a time."""
    final = [r.vector for r in run.respondents.values()]
    answers = image.table("pulse_answers")
    assert answers is not None, f"{image.label}: no pulse_answers table"
    stored = [b.vector for b in ballots_in(answers)]
    assert Counter(stored) == Counter(final), f"{image.label}: the released ballots are not the eight given"
    comments = comments_of(image.table("pulse_comments"))
    assert Counter(comments) == Counter(r.comment for r in run.respondents.values()), image.label
    for name in ANSWER_TABLES:
        table = image.table(name)
        if table is None:
            continue
        assert not person_columns(table), f"{name} has a person column: {person_columns(table)}"
        assert not [c for c in table.columns if table.is_timestamp(c)], f"{name} has a time column"
    for table in image.tables.values():
        if table.name in ANSWER_TABLES or not person_columns(table):
            continue
        assert answer_layout(table) is None, f"{table.name} holds answers beside a person column"
        for row in table.rows:
            text = "\n".join(str(v) for v in row)
            assert not vectors_in(text), f"{table.name} holds a ballot beside a person column"
            assert not [c for c in comments if c in text], f"{table.name} holds a comment beside a person"


async def test_a_reader_of_the_released_poll_ties_no_one_to_their_answers(poll_run: PollRun) -> None:
    """Every answer is released, and xmin joins, stored order, timestamps, keys and payloads, and shared
    values tie none of them to anyone: right after release, and after the "forget" schedule ran."""
    truth = Truth.of(poll_run)
    guesses = []
    for moment in MOMENTS_CLOSED:
        image = poll_run.moments[moment]
        assert_everything_released_and_nobody_beside_it(poll_run, image)
        guesses += static_attacks(image, poll_run.orders(), poll_run.known_comments())
    assert_no_success(truth.successes(guesses))


async def test_a_copy_of_the_released_poll_ties_no_one_to_their_answers(poll_run: PollRun) -> None:
    """A dump taken after release lists nothing in the order people answered, and on SQLite the
    write-ahead log, replayed transaction by transaction, shows no one's answers arriving."""
    truth = Truth.of(poll_run)
    guesses = [
        guess
        for moment in MOMENTS_CLOSED
        for guess in static_attacks(poll_run.dumps[moment], poll_run.orders(), poll_run.known_comments())
    ]
    guesses += history_diffs(poll_run.wal_until("forgotten"), poll_run.known_comments())
    assert_no_success(truth.successes(guesses))


async def test_the_debug_log_ties_no_one_to_their_answers(poll_run: PollRun) -> None:
    """Everything logged during the run, at DEBUG (caplog): no line, nor the lines a request logged after
    naming its person, holds that person's answers or comment."""
    truth = Truth.of(poll_run)
    directory = Directory.of(poll_run.moments["forgotten"])
    assert len(poll_run.logs) > 100  # the run was logged at DEBUG
    assert_no_success(truth.successes(log_lines(poll_run.logs, directory, poll_run.known_comments())))

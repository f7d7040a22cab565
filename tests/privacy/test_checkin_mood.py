"""The check-in's anonymous mood, read by someone with the database (docs/privacy.md): while the run is
open it exists only sealed, one padded ciphertext per person; after close, only as rows with no person,
no time, random ids, written in one transaction (PostgreSQL xmin) with no hidden order (SQLite WITHOUT
ROWID), and below the team's minimum not at all. The same reader and the same checks as the trust poll's
(tests/privacy/conftest.py images, tests/privacy/attacks.py `person_columns`)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy.engine import make_url

from tests.checkins.conftest import answer, checkin_spec, runs, set_up
from tests.conftest import Stack
from tests.privacy.attacks import person_columns
from tests.privacy.conftest import Image, pg_image, sqlite_image

pytestmark = pytest.mark.both_databases  # a storage behaviour: on PostgreSQL as well (tests/conftest.py)

NINE = datetime(2026, 10, 26, 16, 0, tzinfo=UTC)
# Who gives which mood, in the order they answer (not the team file's order); the texts have no digits.
MOODS = (("ed", 2), ("ana", 5), ("di", 1), ("ben", 4), ("cy", 3), ("fay", 4))
MOOD_TABLES = ("checkin_moods",)


async def _image(database_url: str, label: str) -> Image:
    if database_url.startswith("sqlite"):
        database = make_url(database_url).database
        assert database
        return sqlite_image(database, label, None)
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        return await pg_image(connection, label, None)
    finally:
        await connection.close()


def _assert_no_mood_beside_a_person(image: Image) -> None:
    for table in image.tables.values():
        if not person_columns(table) or table.name == "checkin_mood_sealed":
            continue
        for row in table.rows:
            for column, value in zip(table.columns, row, strict=True):
                assert not (column == "mood" or (isinstance(value, str) and '"mood": ' in value)), (
                    f"{image.label}: {table.name}.{column} holds a mood beside a person"
                )


async def test_a_reader_of_the_database_ties_no_mood_to_anyone(stack: Stack, database_url: str) -> None:
    team_id = await set_up(stack, checkin_spec(mood=True, questions=1), ny=())
    await stack.run_until(NINE - timedelta(hours=26))
    await stack.run_until(NINE)
    (run,) = await runs(stack, team_id)
    sizes: set[int] = set()
    for user, mood in MOODS:
        await answer(stack, user, run.id, {"q1": f"note from {user}", "mood": str(mood)})
        image = await _image(database_url, f"after {user}")
        sealed = image.table("checkin_mood_sealed")
        assert sealed is not None and image.table("checkin_moods") is not None
        assert image.tables["checkin_moods"].rows == ()  # nothing readable while open
        for row in sealed.rows:
            blob = bytes(sealed.column(row, "sealed"))
            assert b"mood" not in blob
            sizes.add(len(blob))
        _assert_no_mood_beside_a_person(image)
    assert len(sizes) == 1  # every sealed mood has the same length, whatever its value
    await stack.run_until(run.closes_at)
    closed = await _image(database_url, "closed")
    moods = closed.tables["checkin_moods"]
    assert closed.tables["checkin_mood_sealed"].rows == ()
    assert Counter(moods.column(r, "value") for r in moods.rows) == Counter(m for _, m in MOODS)
    assert not person_columns(moods) and not [c for c in moods.columns if moods.is_timestamp(c)]
    assert set(moods.columns) == {"id", "run_id", "value"}
    assert all(len(str(moods.column(r, "id"))) == 32 for r in moods.rows)  # random ids, not a sequence
    if closed.dialect == "sqlite":
        assert moods.physical is None  # WITHOUT ROWID: no hidden insertion order
    else:
        assert moods.xmin is not None and len(set(moods.xmin)) == 1  # all written by one transaction
    _assert_no_mood_beside_a_person(closed)


async def test_moods_below_the_minimum_are_never_written(stack: Stack, database_url: str) -> None:
    team_id = await set_up(stack, checkin_spec(mood=True, questions=1), ny=())
    await stack.run_until(NINE - timedelta(hours=26))
    await stack.run_until(NINE)
    (run,) = await runs(stack, team_id)
    for user, mood in MOODS[:4]:
        await answer(stack, user, run.id, {"mood": str(mood)})
    await stack.run_until(run.closes_at)
    closed = await _image(database_url, "closed")
    assert closed.tables["checkin_moods"].rows == () and closed.tables["checkin_mood_sealed"].rows == ()

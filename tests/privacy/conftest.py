"""The privacy rig: a team of eight answers a trust poll through the real Slack stack, and a database reader
looks on.

The `poll_run` fixture drives one poll from open to release and forgetting through signed Slack requests
(slack-bolt, Tandem's aiohttp app, the fake Slack Web API of tests/slack), on SQLite or PostgreSQL, once per
backend and test session (a few seconds; every test reads the same record). It keeps the ground truth (who
answered what, and in which order) and, along the way, what an adversary with read access to the database
would have: an `Image` of every table (every column, plus xmin and ctid on PostgreSQL, rowid on SQLite) at
each moment and just before and after each single submission, a `pg_dump --data-only` / `iterdump()` at each
moment, on SQLite the write-ahead log, and every log record at DEBUG. The attacks (tests/privacy/attacks.py)
read only those, plus what anyone knows: the instrument's item ids, and the order in which people answered.

Moments: "first" (one person has answered), "three", "all" (eight, still open), "edited" (one of them
changed their answers), "released" (the deadline passed, the poll closed and released), "forgotten" (the
schedule that forgets people's private poll messages has run).

The images are taken by introspection (information_schema / pg_catalog on PostgreSQL, sqlite_master and
PRAGMAs on SQLite), never from the models: whatever tables the storage has, the reader sees them all.
"""

from __future__ import annotations

import asyncio
import dataclasses
import fcntl
import logging
import os
import pickle
import random
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from glob import glob
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy.engine import make_url

from flows.content.instruments import instruments
from flows.core.clock import ManualClock
from tests.slack import conftest as slack_rig
from tests.slack.conftest import (
    FakeSlack,
    SlackTandem,
    buttons,
    invitation_button,
    running_tandem,
    slack_team_spec,
)

fake_slack = slack_rig.fake_slack  # the Slack tests' fixture, here too

START = datetime(2026, 10, 5, 16, 0, tzinfo=UTC)  # Monday 9 AM in Los Angeles: the poll opens
INSTRUMENT = instruments()["relational-trust"]
ITEMS: tuple[str, ...] = tuple(item.id for item in INSTRUMENT.items)  # the 12 items, in the form's order

# Four labor and four management members: the default minimum (5) is met by eight answers, so the poll is
# released; neither side reaches 5, so no side label is recorded (nothing narrows a ballot to a side).
MEMBERS: tuple[dict[str, Any], ...] = (
    *slack_rig.POLL_MEMBERS,
    {"name": "Gus Coach", "side": "labor", "slack": "W777"},
    {"name": "Hal Nurse", "side": "management", "slack": "W888"},
)
# The order of answering is neither the order of the team file nor of person ids.
SUBMIT_ORDER: tuple[str, ...] = ("W555", "W222", "W777", "W111", "W888", "W333", "W666", "W444")
EDITOR = "W777"  # answers third, changes their answers after everyone has answered
# Comment lengths, far apart (so that padding to any block up to 32 bytes still shows the order), and
# dealt out against the order of answering (so nothing that merely grows with time looks like a length).
COMMENT_LENGTHS: dict[str, int] = {
    "W555": 140,
    "W222": 5,
    "W777": 330,
    "W111": 45,
    "W888": 400,
    "W333": 200,
    "W666": 90,
    "W444": 260,
}
EDITED_COMMENT_LENGTH = 222
# Minutes between one person's answer and the next: distinct times, all within the poll's first day.
GAPS_MINUTES = (17, 23, 11, 41, 7, 29, 13, 37, 19)
MOMENTS_OPEN = ("first", "three", "all", "edited")
MOMENTS_CLOSED = ("released", "forgotten")


def vector_of(index: int) -> tuple[int, ...]:
    """Member `index`'s answers: item j gets ((i + j) % 5) + 1, and members 5..7 one more on odd items (i and
    i + 5 would otherwise agree). Every member's vector is distinct, and every item gets several values."""
    return tuple(((index + j + (j % 2) * (index // 5)) % 5) + 1 for j in range(len(ITEMS)))


EDITED_VECTOR: tuple[int, ...] = tuple(((3 * j + 2) % 5) + 1 for j in range(len(ITEMS)))


def comment_of(seed: str, length: int) -> str:
    """A distinctive comment of exactly `length` characters: made-up words, single spaces, as the form keeps
    it (the flow collapses whitespace)."""
    rng = random.Random(seed)
    words: list[str] = []
    while len(" ".join(words)) < length:
        words.append("".join(rng.choice("bcdfghjklmnpqrstvwxz") + rng.choice("aeiouy") for _ in range(3)))
    text = " ".join(words)[:length]
    if text.endswith(" "):
        text = text[:-1] + "q"
    return text[0].upper() + text[1:]


# ---------------------------------------------------------------- ground truth


@dataclass
class Respondent:
    user: str  # Slack user id
    name: str
    person_id: int
    vectors: list[tuple[int, ...]]  # every vector this person submitted, first one first
    comments: list[str]

    @property
    def vector(self) -> tuple[int, ...]:
        return self.vectors[-1]

    @property
    def comment(self) -> str:
        return self.comments[-1]


@dataclass
class Step:
    """One submission (or edit), with the whole database just before it and just after it was processed."""

    user: str
    kind: str  # "submit" or "edit"
    before: Image
    after: Image


# ---------------------------------------------------------------- database images


@dataclass(frozen=True)
class TableImage:
    """One table as a reader sees it. `rows` in the order a plain `SELECT *` returns them."""

    name: str
    columns: tuple[str, ...]
    types: tuple[str, ...]  # declared (SQLite) or data (PostgreSQL) types, lower case
    primary_key: tuple[str, ...]
    references: dict[str, str]  # column → referenced table (foreign keys)
    rows: tuple[tuple[Any, ...], ...]
    xmin: tuple[str, ...] | None = None  # PostgreSQL: each row's inserting transaction
    physical: tuple[int, ...] | None = None  # indices into `rows`, by ctid (PG) or rowid (SQLite)
    by_poll: tuple[tuple[Any, ...], ...] | None = None  # `SELECT * … WHERE poll_id = <poll>`, as returned

    def column(self, row: Sequence[Any], name: str) -> Any:
        return row[self.columns.index(name)]

    def is_timestamp(self, column: str) -> bool:
        kind = self.types[self.columns.index(column)]
        return "timestamp" in kind or "datetime" in kind


@dataclass(frozen=True)
class Image:
    label: str
    dialect: str  # "sqlite" or "postgresql"
    tables: dict[str, TableImage]

    def table(self, name: str) -> TableImage | None:
        return self.tables.get(name)


def _sqlite_path(url: str) -> str:
    database = make_url(url).database
    assert database, url
    return database


def _pg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def sqlite_image(path: str, label: str, poll_id: int | None) -> Image:
    """Every table of a SQLite file, read as any `sqlite3` shell would (read-only, so the WAL stays)."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return sqlite_image_of(connection, label, poll_id)
    finally:
        connection.close()


def sqlite_image_of(connection: sqlite3.Connection, label: str, poll_id: int | None) -> Image:
    tables: dict[str, TableImage] = {}
    names = [
        str(name)
        for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    for name in names:
        info = connection.execute(f'PRAGMA table_info("{name}")').fetchall()
        columns = tuple(str(c[1]) for c in info)
        types = tuple(str(c[2]).lower() for c in info)
        primary_key = tuple(str(c[1]) for c in sorted((c for c in info if c[5]), key=lambda c: c[5]))
        references = {
            str(fk[3]): str(fk[2]) for fk in connection.execute(f'PRAGMA foreign_key_list("{name}")')
        }
        select_list = ", ".join(f'"{c}"' for c in columns)
        rows = tuple(tuple(r) for r in connection.execute(f'SELECT {select_list} FROM "{name}"'))
        physical: tuple[int, ...] | None = None
        try:
            with_rowid = connection.execute(f'SELECT rowid, {select_list} FROM "{name}"').fetchall()
        except sqlite3.OperationalError:  # a WITHOUT ROWID table: there is no hidden order
            with_rowid = None
        if with_rowid is not None:
            places: dict[tuple[Any, ...], list[int]] = {}
            for i, r in enumerate(rows):
                places.setdefault(r, []).append(i)
            physical = tuple(places[tuple(r[1:])].pop(0) for r in sorted(with_rowid, key=lambda r: int(r[0])))
        by_poll = None
        if poll_id is not None and "poll_id" in columns:
            by_poll = tuple(
                tuple(r)
                for r in connection.execute(
                    f'SELECT {select_list} FROM "{name}" WHERE poll_id = ?', (poll_id,)
                )
            )
        tables[name] = TableImage(
            name, columns, types, primary_key, references, rows, None, physical, by_poll
        )
    return Image(label, "sqlite", tables)


def _ctid_key(ctid: str) -> tuple[int, int]:
    page, _, tuple_ = ctid.strip("()").partition(",")
    return int(page), int(tuple_)


async def pg_image(connection: asyncpg.Connection, label: str, poll_id: int | None) -> Image:
    """Every table of the public schema, with each row's xmin and ctid, as any psql session would see."""
    tables: dict[str, TableImage] = {}
    layout = await connection.fetch(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
    )
    keys = await connection.fetch(
        """SELECT c.conrelid::regclass::text AS tab, c.contype::text AS contype, a.attname::text AS attname,
                  c.confrelid::regclass::text AS ref,
                  array_position(c.conkey, a.attnum) AS pos
           FROM pg_constraint c
           JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
           WHERE c.contype IN ('p', 'f') AND c.connamespace = 'public'::regnamespace"""
    )
    columns: dict[str, list[tuple[str, str]]] = {}
    for row in layout:
        columns.setdefault(str(row["table_name"]), []).append(
            (str(row["column_name"]), str(row["data_type"]))
        )
    for name, cols in sorted(columns.items()):
        names = tuple(c for c, _ in cols)
        types = tuple(t.lower() for _, t in cols)
        primary_key = tuple(
            str(k["attname"])
            for k in sorted(
                (k for k in keys if k["tab"] == name and k["contype"] == "p"), key=lambda k: k["pos"]
            )
        )
        references = {
            str(k["attname"]): str(k["ref"]) for k in keys if k["tab"] == name and k["contype"] == "f"
        }
        select_list = ", ".join(f'"{c}"' for c in names)
        fetched = await connection.fetch(f'SELECT ctid::text, xmin::text, {select_list} FROM "{name}"')
        rows = tuple(tuple(r[2:]) for r in fetched)
        xmin = tuple(str(r[1]) for r in fetched)
        physical = tuple(sorted(range(len(fetched)), key=lambda i: _ctid_key(str(fetched[i][0]))))
        by_poll = None
        if poll_id is not None and "poll_id" in names:
            by_poll = tuple(
                tuple(r)
                for r in await connection.fetch(
                    f'SELECT {select_list} FROM "{name}" WHERE poll_id = $1', poll_id
                )
            )
        tables[name] = TableImage(name, names, types, primary_key, references, rows, xmin, physical, by_poll)
    return Image(label, "postgresql", tables)


# ---------------------------------------------------------------- dumps


def _pg_copy_value(raw: str) -> str | None:
    if raw == "\\N":
        return None
    escapes = {"\\t": "\t", "\\n": "\n", "\\r": "\r", "\\\\": "\\", "\\b": "\b", "\\f": "\f", "\\v": "\v"}
    return re.sub(r"\\[tnrbfv\\]", lambda m: escapes[m.group(0)], raw)


def dump_image(dump: str, dialect: str, like: Image, label: str) -> Image:
    """The tables of a dump text, rows in the order the dump lists them (layout borrowed from `like`)."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    if dialect == "postgresql":
        block: str | None = None
        for line in dump.splitlines():
            if block is None:
                match = re.match(r'COPY (?:public\.)?"?([\w]+)"? \(.*\) FROM stdin;', line)
                if match:
                    block = match.group(1)
                    found[block] = []
            elif line == "\\.":
                block = None
            else:
                found[block].append(tuple(_pg_copy_value(v) for v in line.split("\t")))
    else:
        evaluator = sqlite3.connect(":memory:")
        for line in dump.splitlines():
            match = re.match(r'INSERT INTO "([^"]+)" VALUES\((.*)\);$', line)
            if match:
                row = evaluator.execute(f"SELECT {match.group(2)}").fetchone()
                found.setdefault(match.group(1), []).append(tuple(row))
        evaluator.close()
    tables: dict[str, TableImage] = {}
    for name, table in like.tables.items():
        tables[name] = TableImage(
            name, table.columns, table.types, table.primary_key, table.references, tuple(found.get(name, ()))
        )
    return Image(label, dialect, tables)


def pg_dump_binary() -> str:
    found = sorted(glob("/usr/lib/postgresql/*/bin/pg_dump"))
    if found:
        return found[-1]
    located = shutil.which("pg_dump")
    assert located, "pg_dump is needed for the dump attack on PostgreSQL"
    return located


def pg_dump(url: str) -> str:
    parsed = make_url(url)
    command = [
        pg_dump_binary(),
        "--data-only",
        "--no-owner",
        "-h",
        parsed.host or "127.0.0.1",
        "-p",
        str(parsed.port or 5432),
        "-U",
        parsed.username or "postgres",
        parsed.database or "",
    ]
    env = {**os.environ, **({"PGPASSWORD": parsed.password} if parsed.password else {})}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def sqlite_dump(path: str) -> str:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return "\n".join(connection.iterdump())
    finally:
        connection.close()


# ---------------------------------------------------------------- the SQLite write-ahead log


def wal_history(path: str, wal: bytes, poll_id: int | None) -> list[tuple[int, Image]]:
    """(where in the log it ends, the database after it) for each transaction in the write-ahead log.

    A WAL file is a 32-byte header, then frames: a 24-byte header (page number; the database size after a
    commit, or 0) and one page. Applying the frames to the main file commit by commit, as SQLite's own
    recovery does, gives one snapshot per committed transaction — what `sqlite3` would have shown then. (Exact
    while nothing has been checkpointed into the main file, as here: the runtime's checkpoint task is off in
    tests. In production a checkpoint resets the log only when a later writer wraps around to its start, so
    older transactions stay readable in the file's tail until overwritten.)"""
    if len(wal) < 32:
        return []
    page_size = int.from_bytes(wal[8:12], "big")
    salts = wal[16:24]
    base = bytearray(Path(path).read_bytes())
    images: list[tuple[int, Image]] = []
    offset, pending = 32, {}
    while offset + 24 + page_size <= len(wal):
        header = wal[offset : offset + 24]
        if header[8:16] != salts:  # a frame left over from an earlier generation of the log
            break
        page_number = int.from_bytes(header[0:4], "big")
        commit_size = int.from_bytes(header[4:8], "big")
        pending[page_number] = wal[offset + 24 : offset + 24 + page_size]
        offset += 24 + page_size
        if commit_size:
            for number, page in pending.items():
                start = (number - 1) * page_size
                if len(base) < start + page_size:
                    base.extend(b"\0" * (start + page_size - len(base)))
                base[start : start + page_size] = page
            del base[commit_size * page_size :]
            pending = {}
            snapshot = bytearray(base)
            snapshot[18:20] = b"\x01\x01"  # read it as a plain (rollback-journal) database: no WAL of its own
            connection = sqlite3.connect(":memory:")
            connection.deserialize(bytes(snapshot))
            try:
                images.append((offset, sqlite_image_of(connection, f"log commit {len(images) + 1}", poll_id)))
            finally:
                connection.close()
    return images


# ---------------------------------------------------------------- the run


@dataclass(repr=False)
class PollRun:
    """One poll, answered by the eight, as it went: the ground truth and what a reader could have copied."""

    database_url: str
    dialect: str  # "sqlite" or "postgresql"
    poll_id: int = 0
    respondents: dict[str, Respondent] = field(default_factory=dict)  # by Slack user id
    submitted: list[str] = field(default_factory=list)  # users in order of first submission
    written: list[str] = field(default_factory=list)  # users in order of their last write (an edit: last)
    moments: dict[str, Image] = field(default_factory=dict)  # first, three, all, edited, released, forgotten
    dumps: dict[str, Image] = field(default_factory=dict)  # pg_dump --data-only / iterdump(), by moment
    steps: list[Step] = field(default_factory=list)  # each submission and the edit, in order
    wal: list[tuple[int, Image]] = field(default_factory=list)  # SQLite: (end offset, state) per commit
    wal_marks: dict[str, int] = field(default_factory=dict)  # SQLite: the log's size at each moment
    logs: list[str] = field(default_factory=list)  # every log record of the run, formatted, at DEBUG

    def __repr__(self) -> str:
        return f"<the poll on {self.dialect}: {len(self.steps)} submissions, moments {list(self.moments)}>"

    def orders(self) -> dict[str, list[int]]:
        """Side knowledge granted to the reader: who answered when (first answers; last writes)."""
        people = {u: r.person_id for u, r in self.respondents.items()}
        return {
            "order of answering": [people[u] for u in self.submitted],
            "order of last writes": [people[u] for u in self.written],
        }

    def known_comments(self) -> list[str]:
        return [c for r in self.respondents.values() for c in r.comments]

    def wal_until(self, moment: str) -> list[Image]:
        """The log's transactions committed by `moment`."""
        mark = self.wal_marks.get(moment, 0)
        return [image for end, image in self.wal if end <= mark]


@dataclass
class Driver:
    """Drives the poll through Slack and copies the database as it goes."""

    tandem: SlackTandem
    run: PollRun
    pg: asyncpg.Connection | None = None

    async def image(self, label: str) -> Image:
        if self.run.dialect == "sqlite":
            return sqlite_image(_sqlite_path(self.run.database_url), label, self.run.poll_id)
        assert self.pg is not None
        return await pg_image(self.pg, label, self.run.poll_id)

    async def dump(self, label: str, like: Image) -> Image:
        if self.run.dialect == "sqlite":
            text = sqlite_dump(_sqlite_path(self.run.database_url))
        else:
            text = await asyncio.to_thread(pg_dump, self.run.database_url)
        return dump_image(text, self.run.dialect, like, f"dump at {label}")

    async def scalar(self, sql: str) -> Any:
        if self.run.dialect == "sqlite":
            connection = sqlite3.connect(f"file:{_sqlite_path(self.run.database_url)}?mode=ro", uri=True)
            try:
                return connection.execute(sql).fetchone()[0]
            finally:
                connection.close()
        assert self.pg is not None
        return await self.pg.fetchval(sql)

    def wal_path(self) -> Path:
        return Path(f"{_sqlite_path(self.run.database_url)}-wal")

    async def moment(self, label: str) -> None:
        if label in MOMENTS_OPEN:  # the copy just taken after the last submission, under the moment's name
            image = dataclasses.replace(self.run.steps[-1].after, label=label)
        else:
            image = await self.image(label)
        self.run.moments[label] = image
        self.run.dumps[label] = await self.dump(label, image)
        if self.run.dialect == "sqlite":
            self.run.wal_marks[label] = self.wal_path().stat().st_size if self.wal_path().exists() else 0

    async def tick_until(self, when: datetime) -> None:
        """Move the clock to `when`, fire what is due and deliver, as the ticker and the worker would."""
        self.tandem.clock.set(when)
        await self.tandem.runtime.engine.tick()
        await self.tandem.runtime.worker.drain()


def modal_values(vector: tuple[int, ...], comment: str) -> dict[str, str]:
    return {**{item: str(value) for item, value in zip(ITEMS, vector, strict=True)}, "comment": comment}


async def _submit_modal(driver: Driver, user: str, kind: str, vector: tuple[int, ...], comment: str) -> None:
    """Submit the modal `user`'s last click opened, copying the database just before and just after."""
    tandem = driver.tandem
    view_id, view = tandem.modal_of(user)
    assert str(view["callback_id"]).startswith("pulse."), view["callback_id"]
    before = await driver.image(f"before {user} {kind}s")
    assert (await tandem.submit(user, view, modal_values(vector, comment), view_id=view_id)).status == 200
    await tandem.settle()
    driver.run.steps.append(Step(user, kind, before, await driver.image(f"after {user} {kind}s")))


async def answer(driver: Driver, user: str, vector: tuple[int, ...], comment: str) -> None:
    """`user` presses "Answer now" in their invitation and submits the modal it opens."""
    tandem = driver.tandem
    assert (await tandem.click(user, invitation_button(tandem, user), channel=f"D{user}")).status == 200
    await tandem.settle()
    await _submit_modal(driver, user, "submit", vector, comment)


async def edit(driver: Driver, user: str, vector: tuple[int, ...], comment: str) -> None:
    """`user` changes their answers: the one place that knows how.

    It presses the newest button with the neutral action id `pulse.change` in the user's DM (today: "Change
    my answers" on the receipt, which opens the amend modal); if their DM has no such button (the sealed
    design: the invitation's "Answer now" reopens the form, prefilled), it presses the invitation's
    `pulse.answer` button instead. Then it submits the modal that opened, with every item and the comment."""
    tandem = driver.tandem
    messages = [
        c
        for c in tandem.fake.calls
        if c.method in ("chat.postMessage", "chat.update") and c.args.get("channel") == f"D{user}"
    ]
    change = [b for m in messages for b in buttons(m.args, "pulse.change")]
    button = change[-1] if change else invitation_button(tandem, user)
    assert (await tandem.click(user, button, channel=f"D{user}")).status == 200
    await tandem.settle()
    await _submit_modal(driver, user, "edit", vector, comment)


async def drive_poll(driver: Driver) -> None:
    """Open the poll; the eight answer one by one (copies after the first, the third, the eighth); one of
    them edits; the deadline passes and the poll is released; the "forget" schedule runs."""
    tandem, run = driver.tandem, driver.run
    tandem.clock.set(START)
    await tandem.import_team(slack_team_spec(members=list(MEMBERS)))
    assert (await tandem.command("pulse start", user="W111", channel="C111")).status == 200
    await tandem.settle()
    run.poll_id = int(await driver.scalar("SELECT max(id) FROM pulse_polls"))
    for index, member in enumerate(MEMBERS):
        user = str(member["slack"])
        person = int(await driver.scalar(f"SELECT person_id FROM identities WHERE user_id = '{user}'"))
        run.respondents[user] = Respondent(
            user, str(member["name"]), person, [vector_of(index)], [comment_of(user, COMMENT_LENGTHS[user])]
        )

    vectors = [r.vectors[0] for r in run.respondents.values()] + [EDITED_VECTOR]
    assert len(set(vectors)) == len(vectors), "every answer vector must be distinct for the judge to work"

    moment_after = {1: "first", 3: "three", len(SUBMIT_ORDER): "all"}
    for count, (user, gap) in enumerate(zip(SUBMIT_ORDER, GAPS_MINUTES, strict=False), start=1):
        tandem.clock.advance(timedelta(minutes=gap))
        respondent = run.respondents[user]
        await answer(driver, user, respondent.vectors[0], respondent.comments[0])
        run.submitted.append(user)
        run.written.append(user)
        if count in moment_after:
            await driver.moment(moment_after[count])

    tandem.clock.advance(timedelta(minutes=GAPS_MINUTES[-1]))
    editor = run.respondents[EDITOR]
    editor.vectors.append(EDITED_VECTOR)
    editor.comments.append(comment_of(f"{EDITOR} again", EDITED_COMMENT_LENGTH))
    await edit(driver, EDITOR, editor.vector, editor.comment)
    run.written.remove(EDITOR)
    run.written.append(EDITOR)
    await driver.moment("edited")

    # The deadline, as tests/pulse runs it: each daily occurrence (reminders), the close on the seventh.
    closes = await driver.scalar(f"SELECT closes_at FROM pulse_polls WHERE id = {run.poll_id}")
    closes = as_utc(closes)
    day = START
    while day < closes:
        day += timedelta(days=1)
        await driver.tick_until(day + timedelta(minutes=1))
    status = await driver.scalar(f"SELECT status FROM pulse_polls WHERE id = {run.poll_id}")
    assert status == "released", f"the poll was not released (status {status!r})"
    await driver.moment("released")
    await driver.tick_until(closes + timedelta(hours=2))  # "forget" starts an hour after the close
    await driver.tick_until(closes + timedelta(hours=3))
    await driver.moment("forgotten")


def as_utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime), value
    return value if value.tzinfo else value.replace(tzinfo=UTC)


_RUNS: dict[str, PollRun] = {}  # one poll per backend and test session: every test reads the same copies


async def _run_poll(database_url: str, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture) -> PollRun:
    dialect = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    caplog.set_level(logging.DEBUG)
    run = PollRun(database_url, dialect)
    async with running_tandem(database_url, fake_slack, ManualClock(START)) as tandem:
        pg = await asyncpg.connect(_pg_dsn(database_url)) if dialect == "postgresql" else None
        try:
            driver = Driver(tandem, run, pg)
            await drive_poll(driver)
            if dialect == "sqlite":
                run.wal = wal_history(_sqlite_path(database_url), driver.wal_path().read_bytes(), run.poll_id)
        finally:
            if pg is not None:
                await pg.close()
    handler = logging.Formatter("%(name)s %(levelname)s %(message)s")
    run.logs = [handler.format(record) for record in caplog.records]
    return run


@pytest.fixture
async def poll_run(
    database_url: str,
    fake_slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
    tmp_path_factory: pytest.TempPathFactory,
    worker_id: str,
) -> PollRun:
    """The poll on this backend, run once per test session (about three seconds) and read by every test.
    Under pytest-xdist the first worker to need it runs it and leaves a copy in the session's shared temp
    folder for the others (pytest-xdist's documented way to share a session fixture)."""
    dialect = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    if dialect in _RUNS:
        return _RUNS[dialect]
    if worker_id == "master":  # one process: nothing to share
        _RUNS[dialect] = await _run_poll(database_url, fake_slack, caplog)
        return _RUNS[dialect]
    shared = tmp_path_factory.getbasetemp().parent / f"privacy-poll-{dialect}.pickle"
    with open(shared.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker running it: wait for its copy
        if shared.exists():
            _RUNS[dialect] = pickle.loads(shared.read_bytes())
        else:
            _RUNS[dialect] = await _run_poll(database_url, fake_slack, caplog)
            shared.write_bytes(pickle.dumps(_RUNS[dialect]))
    return _RUNS[dialect]

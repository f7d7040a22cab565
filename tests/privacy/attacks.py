"""What a database reader can try, to tie an anonymous trust-poll answer to a person.

Every attack reads `Image`s (tests/privacy/conftest.py: every table and column as a reader sees it, with xmin
and ctid on PostgreSQL and rowid on SQLite) and returns `Guess`es: person → answer vector, person → comment.
Tables and columns are found by introspection; the only names used are those both the current and the sealed
design keep (`pulse_answers`, `pulse_ballots`, `pulse_comments`, `identities`, `people`).

A guess ties one person to one thing only when the evidence singles out one person and one ballot (or one
comment): a transaction that wrote eight ballots, or an outbox row that holds every comment (the released
report sent to a co-chair), ties no one. Order attacks are different: lining up n ballots with n people is
right for about one person by chance, so their guesses are `whole` and count only when right for everyone.

Each docstring says what a DBA would type.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.privacy.conftest import ITEMS, Image, PollRun, Step, TableImage

ANSWER_TABLES = ("pulse_answers", "pulse_ballots", "pulse_comments")
SCALE = range(1, 6)
TOKEN_MIN = 16  # a value this long is as good as unique: an id, a hash, a key, a sentence
Orders = Mapping[str, Sequence[int]]  # side knowledge: people (person ids) in the order they answered


# ---------------------------------------------------------------- guesses and the judge


@dataclass(frozen=True)
class Guess:
    attack: str
    image: str
    vectors: Mapping[int, tuple[int, ...]] = field(default_factory=dict)
    comments: Mapping[int, str] = field(default_factory=dict)
    whole: bool = False  # an order attack: counts only when right for every respondent


@dataclass(frozen=True)
class Truth:
    """person id → every vector and comment they submitted (an edit adds one), and a name for messages."""

    vectors: Mapping[int, frozenset[tuple[int, ...]]]
    comments: Mapping[int, frozenset[str]]
    names: Mapping[int, str]

    @staticmethod
    def of(run: PollRun) -> Truth:
        people = run.respondents.values()
        return Truth(
            {r.person_id: frozenset(r.vectors) for r in people},
            {r.person_id: frozenset(r.comments) for r in people},
            {r.person_id: f"{r.name} ({r.user})" for r in people},
        )

    def same_person(self, comment: str, vector: tuple[int, ...]) -> bool:
        return any(comment in self.comments[p] and vector in self.vectors[p] for p in self.vectors)

    def successes(self, guesses: Iterable[Guess]) -> list[str]:
        """One line per guess that is right: the attack worked."""
        found: list[str] = []
        for guess in guesses:
            if guess.whole:
                if len(guess.vectors) == len(self.vectors) and all(
                    v in self.vectors.get(p, ()) for p, v in guess.vectors.items()
                ):
                    found.append(f"{guess.image}: {guess.attack}: every ballot lined up with its person")
                if len(guess.comments) == len(self.comments) and all(
                    c in self.comments.get(p, ()) for p, c in guess.comments.items()
                ):
                    found.append(f"{guess.image}: {guess.attack}: every comment lined up with its author")
                continue
            for person, vector in guess.vectors.items():
                if vector in self.vectors.get(person, ()):
                    found.append(
                        f"{guess.image}: {guess.attack}: {self.names[person]}'s answers {list(vector)}"
                    )
            for person, comment in guess.comments.items():
                if comment in self.comments.get(person, ()):
                    found.append(
                        f"{guess.image}: {guess.attack}: {self.names[person]}'s comment {comment[:24]!r}…"
                    )
        return sorted(set(found))


def assert_no_success(
    successes: Sequence[str], what: str = "attack(s) tied people to their answers", limit: int = 40
) -> None:
    """Fail with one line per attack that worked."""
    if successes:
        shown = "\n  ".join(successes[:limit])
        more = f"\n  … and {len(successes) - limit} more" if len(successes) > limit else ""
        pytest.fail(f"{len(successes)} {what}:\n  {shown}{more}", pytrace=False)


# ---------------------------------------------------------------- reading values


def text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)


def size_of(value: Any) -> int:
    """Bytes a value takes as a reader sees it (NULL: 0)."""
    if value is None:
        return 0
    if isinstance(value, bytes | bytearray | memoryview):
        return len(bytes(value))
    return len(str(value).encode())


_RUNS = re.compile(rf"[A-Za-z0-9_\-+/=]{{{TOKEN_MIN},}}")


def tokens(value: Any) -> set[str]:
    """The long strings in a value (itself, and long runs inside it: ids in keys, hashes in JSON)."""
    text = text_of(value)
    if isinstance(value, int | float | bool | datetime) or len(text) < TOKEN_MIN:
        return set()
    return {text, *_RUNS.findall(text)}


def row_tokens(row: Sequence[Any]) -> set[str]:
    return {t for value in row for t in tokens(value)}


def as_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and re.match(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d", value):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


_PAIR = {item: re.compile(re.escape(item) + r"\W{1,8}([1-5])(?!\d)") for item in ITEMS}
_ITEM = re.compile("|".join(re.escape(item) for item in sorted(ITEMS, key=len, reverse=True)))
# A form shown prefilled: the value chosen is the `initial…` of the item's block (Slack: initial_option).
_INITIAL = re.compile(
    r"initial\w*['\"]?\s*[:=]\s*\{.{0,300}?['\"]value['\"]\s*:\s*['\"]([1-5])['\"]", re.DOTALL
)


def vectors_in(text: str) -> list[tuple[int, ...]]:
    """Answer vectors written out in a text: item id, then its value (JSON, a repr, SQL parameters), or a
    form prefilled with them (each item's block, then its initial choice). One vector when each item
    appears once with a value; none when a text holds several ballots (they tie no one)."""
    found = {item: pattern.findall(text) for item, pattern in _PAIR.items()}
    if all(len(values) == 1 for values in found.values()):
        return [tuple(int(found[item][0]) for item in ITEMS)]
    items = [(m.start(), m.group(0)) for m in _ITEM.finditer(text)]
    chosen: dict[str, list[int]] = {}
    for match in _INITIAL.finditer(text):
        before = [item for start, item in items if start < match.start()]
        if before:
            chosen.setdefault(before[-1], []).append(int(match.group(1)))
    if set(chosen) == set(ITEMS) and all(len(v) == 1 for v in chosen.values()):
        return [tuple(chosen[item][0] for item in ITEMS)]
    return []


def ballots_written(text: str) -> int:
    """How many ballots a text writes out (the most times any one item appears with a value)."""
    return max(len(pattern.findall(text)) for pattern in _PAIR.values())


def comments_in(text: str, known: Iterable[str]) -> list[str]:
    """The comments (as the ground truth knows them: a reader would recognise free text) inside a text."""
    return [c for c in known if c and c in text]


# ---------------------------------------------------------------- who a row names


@dataclass(frozen=True)
class Directory:
    """The people a reader can recognise, from the database itself (identities, people)."""

    marks: Mapping[int, tuple[str, ...]]  # person id → user ids, DM addresses, display names

    @staticmethod
    def of(image: Image) -> Directory:
        marks: dict[int, set[str]] = {}
        identities = image.table("identities")
        if identities is not None:
            for row in identities.rows:
                person = int(identities.column(row, "person_id"))
                for name in ("user_id", "dm_address"):
                    if name in identities.columns and identities.column(row, name):
                        marks.setdefault(person, set()).add(str(identities.column(row, name)))
        people = image.table("people")
        if people is not None and "display_name" in people.columns:
            for row in people.rows:
                if people.column(row, "display_name"):
                    marks.setdefault(int(people.column(row, "id")), set()).add(
                        str(people.column(row, "display_name"))
                    )
        return Directory({p: tuple(m for m in sorted(v) if len(m) >= 4) for p, v in marks.items()})

    def in_text(self, text: str) -> set[int]:
        return {p for p, marks in self.marks.items() if any(m in text for m in marks)}


def person_columns(table: TableImage) -> set[str]:
    """person_id, *_person_id, and every column with a foreign key to people; `id` of people itself."""
    found = {
        c
        for c in table.columns
        if c == "person_id" or c.endswith("_person_id") or table.references.get(c) == "people"
    }
    if table.name == "people":
        found.add("id")
    return found


def _json_people(data: Any) -> Iterator[int]:
    if isinstance(data, dict):
        for key, value in data.items():
            if (key == "person_id" or key.endswith("_person_id")) and isinstance(value, int):
                yield value
            yield from _json_people(value)
    elif isinstance(data, list):
        for value in data:
            yield from _json_people(value)


def named(table: TableImage, row: Sequence[Any], directory: Directory) -> set[int]:
    """The people a row names: a person column, a person id in JSON, a user id / DM / name in any text."""
    people: set[int] = set()
    for column in person_columns(table):
        value = table.column(row, column)
        if value is not None and str(value).isdigit():
            people.add(int(value))
    for value in row:
        if not isinstance(value, str):
            continue
        people |= directory.in_text(value)
        if value[:1] in "[{":
            with contextlib.suppress(ValueError):
                people.update(_json_people(json.loads(value)))
    return {p for p in people if p in directory.marks}


def naming_rows(image: Image, directory: Directory) -> Iterator[tuple[TableImage, int, int]]:
    """(table, row index, person) for every row outside the answer tables that names exactly one person."""
    for table in image.tables.values():
        if table.name in ANSWER_TABLES:
            continue
        for index, row in enumerate(table.rows):
            people = named(table, row, directory)
            if len(people) == 1:
                yield table, index, next(iter(people))


# ---------------------------------------------------------------- what the answer tables hold


@dataclass(frozen=True)
class Ballot:
    key: str  # the ballot's id, or the position of its rows
    vector: tuple[int, ...] | None  # None when its rows don't give every item
    rows: tuple[int, ...]  # indices into the answers table's rows


def answer_layout(table: TableImage) -> tuple[str, str, str | None] | None:
    """(item column, value column, ballot column or None) of a table that holds item/value pairs."""
    if not table.rows:
        return None
    item = next(
        (c for c in table.columns if all(table.column(r, c) in ITEMS for r in table.rows)),
        None,
    )
    if item is None:
        return None
    candidates = [
        c
        for c in table.columns
        if c != item
        and all(str(table.column(r, c)).isdigit() and int(table.column(r, c)) in SCALE for r in table.rows)
    ]
    value = "value" if "value" in candidates else (candidates[0] if candidates else None)
    if value is None:
        return None
    ballot = "ballot_id" if "ballot_id" in table.columns else None
    return item, value, ballot


def ballots_in(table: TableImage, rows: Sequence[tuple[Any, ...]] | None = None) -> list[Ballot]:
    """The ballots in an answers table's rows, in order of their first row (rows: the table's, or a subset
    in some order). Without a ballot column, consecutive runs of one row per item."""
    layout = answer_layout(table)
    rows = table.rows if rows is None else rows
    if layout is None or not rows:
        return []
    item, value, ballot = layout
    index = {id(r): i for i, r in enumerate(table.rows)}
    groups: dict[str, list[tuple[Any, ...]]] = {}
    for position, row in enumerate(rows):
        key = str(table.column(row, ballot)) if ballot else str(position // len(ITEMS))
        groups.setdefault(key, []).append(row)
    found = []
    for key, members in groups.items():
        values = {table.column(r, item): int(table.column(r, value)) for r in members}
        vector = (
            tuple(values[i] for i in ITEMS)
            if len(members) == len(ITEMS) and set(values) == set(ITEMS)
            else None
        )
        found.append(Ballot(key, vector, tuple(index.get(id(r), -1) for r in members)))
    return found


def comment_column(table: TableImage) -> str | None:
    if "text" in table.columns:
        return "text"
    texts = [c for c in table.columns if any(isinstance(table.column(r, c), str) for r in table.rows)]
    return max(texts, key=lambda c: sum(size_of(table.column(r, c)) for r in table.rows), default=None)


def comments_of(table: TableImage | None, rows: Sequence[tuple[Any, ...]] | None = None) -> list[str]:
    if table is None or table.name != "pulse_comments":
        return []
    column = comment_column(table)
    if column is None:
        return []
    return [str(table.column(r, column)) for r in (table.rows if rows is None else rows)]


def vectors_by_ballot(image: Image) -> dict[str, tuple[int, ...]]:
    answers = image.table("pulse_answers")
    if answers is None:
        return {}
    return {b.key: b.vector for b in ballots_in(answers) if b.vector is not None}


def answer_units(image: Image) -> tuple[dict[str, tuple[int, ...]], dict[str, set[str]], dict[str, str]]:
    """(vector by unit, tokens unique to the unit, comment by unit): a unit is a ballot (its answer rows and
    its pulse_ballots row) or a comment row. Tokens two units share (item ids, the poll) single no one out."""
    vectors: dict[str, tuple[int, ...]] = {}
    unit_tokens: dict[str, set[str]] = {}
    comments: dict[str, str] = {}
    answers = image.table("pulse_answers")
    if answers is not None:
        for ballot in ballots_in(answers):
            unit = f"ballot {ballot.key}"
            if ballot.vector is not None:
                vectors[unit] = ballot.vector
            unit_tokens[unit] = {t for i in ballot.rows for t in row_tokens(answers.rows[i])}
    ballots = image.table("pulse_ballots")
    if ballots is not None and "id" in ballots.columns:
        for row in ballots.rows:
            unit = f"ballot {ballots.column(row, 'id')}"
            unit_tokens.setdefault(unit, set()).update(row_tokens(row))
    table = image.table("pulse_comments")
    for position, row in enumerate(table.rows if table is not None else ()):
        assert table is not None
        unit = f"comment {position}"
        comments[unit] = comments_of(table, [row])[0]
        unit_tokens[unit] = row_tokens(row)
    seen = Counter(t for toks in unit_tokens.values() for t in toks)
    unique = {u: {t for t in toks if seen[t] == 1} for u, toks in unit_tokens.items()}
    return vectors, unique, comments


def guess_from_units(
    attack: str,
    image: str,
    person: int,
    units: set[str],
    vectors: Mapping[str, tuple[int, ...]],
    comments: Mapping[str, str],
) -> Guess | None:
    """Tie `person` to what `units` hold, if they hold exactly one ballot and/or exactly one comment."""
    ballot_units = {u for u in units if u.startswith("ballot ") and u in vectors}
    comment_units = {u for u in units if u.startswith("comment ")}
    tie_vectors = {person: vectors[next(iter(ballot_units))]} if len(ballot_units) == 1 else {}
    tie_comments = {person: comments[next(iter(comment_units))]} if len(comment_units) == 1 else {}
    if not tie_vectors and not tie_comments:
        return None
    return Guess(attack, image, tie_vectors, tie_comments)


# ---------------------------------------------------------------- 0. a crowd of one


def crowd_of_one(image: Image) -> list[Guess]:
    """Who has answered is visible by design (reminders need it); when that is one person, every answer
    stored is theirs.

        SELECT * FROM <each table with poll_id and a person column>;   -- one person so far
        SELECT item_id, value FROM pulse_answers;  SELECT text FROM pulse_comments;
    """
    directory = Directory.of(image)
    answered: set[int] = set()
    for table in image.tables.values():
        if "poll_id" in table.columns and person_columns(table) and table.name not in ANSWER_TABLES:
            for row in table.rows:
                answered |= named(table, row, directory)
    if len(answered) != 1:
        return []
    (person,) = answered
    answers = image.table("pulse_answers")
    ballots = [b for b in ballots_in(answers) if b.vector is not None] if answers is not None else []
    comments = comments_of(image.table("pulse_comments"))
    vectors = {person: ballots[0].vector} if len(ballots) == 1 and ballots[0].vector else {}
    return [Guess("crowd of one", image.label, vectors, {person: comments[0]} if len(comments) == 1 else {})]


# ---------------------------------------------------------------- 1. xmin


def xmin_join(image: Image) -> list[Guess]:
    """PostgreSQL stamps every row version with the transaction that wrote it. Join what names a person to
    what holds answers on it, for every such pair of tables (here: all of them at once):

        SELECT i.user_id, min(a.value) FROM pulse_participation p JOIN identities i USING (person_id)
          JOIN pulse_answers a ON a.xmin = p.xmin GROUP BY 1;
        SELECT e.key, a.* FROM processed_events e JOIN pulse_answers a ON a.xmin = e.xmin;
        SELECT o.target, c.text FROM outbox o JOIN pulse_comments c ON c.xmin = o.xmin;
    A transaction that names one person and wrote one ballot (or one comment) gives that person away."""
    if image.dialect != "postgresql":
        return []
    directory = Directory.of(image)
    people: dict[str, set[int]] = {}
    for table in image.tables.values():
        if table.name in ANSWER_TABLES or table.xmin is None:
            continue
        for row, xmin in zip(table.rows, table.xmin, strict=True):
            people.setdefault(xmin, set()).update(named(table, row, directory))
    vectors = vectors_by_ballot(image)
    written: dict[str, set[str]] = {}  # xmin → ballot keys
    comments: dict[str, list[str]] = {}
    answers = image.table("pulse_answers")
    if answers is not None and answers.xmin is not None:
        for ballot in ballots_in(answers):
            for i in ballot.rows:
                written.setdefault(answers.xmin[i], set()).add(ballot.key)
    ballots = image.table("pulse_ballots")
    if ballots is not None and ballots.xmin is not None and "id" in ballots.columns:
        for row, xmin in zip(ballots.rows, ballots.xmin, strict=True):
            written.setdefault(xmin, set()).add(str(ballots.column(row, "id")))
    comment_table = image.table("pulse_comments")
    if comment_table is not None and comment_table.xmin is not None:
        for text, xmin in zip(comments_of(comment_table), comment_table.xmin, strict=True):
            comments.setdefault(xmin, []).append(text)
    guesses = []
    for xmin in set(written) | set(comments):
        named_here = people.get(xmin, set())
        if len(named_here) != 1:
            continue
        (person,) = named_here
        keys = written.get(xmin, set())
        tie_vectors = (
            {person: vectors[next(iter(keys))]} if len(keys) == 1 and next(iter(keys)) in vectors else {}
        )
        texts = comments.get(xmin, [])
        tie_comments = {person: texts[0]} if len(texts) == 1 else {}
        if tie_vectors or tie_comments:
            guesses.append(Guess(f"xmin join (transaction {xmin})", image.label, tie_vectors, tie_comments))
    return guesses


# ---------------------------------------------------------------- 2. physical and default order


def _orderings(table: TableImage) -> Iterator[tuple[str, Sequence[tuple[Any, ...]]]]:
    if table.physical is not None:
        what = "ctid" if table.xmin is not None else "rowid"
        yield f"{table.name} by {what}", [table.rows[i] for i in table.physical]
    yield f"SELECT * FROM {table.name}", table.rows
    if table.by_poll is not None:
        yield f"SELECT * FROM {table.name} WHERE poll_id = …", table.by_poll


def stored_sequences(image: Image) -> Iterator[tuple[str, list[tuple[int, ...]] | None, list[str] | None]]:
    """(how, ballots' vectors in that order, comments in that order) for each order a reader can get."""
    vectors = vectors_by_ballot(image)
    answers = image.table("pulse_answers")
    if answers is not None:
        for how, rows in _orderings(answers):
            ballots = ballots_in(answers, rows)
            if ballots and all(b.vector is not None for b in ballots):
                yield how, [b.vector for b in ballots if b.vector is not None], None
    ballots_table = image.table("pulse_ballots")
    if ballots_table is not None and "id" in ballots_table.columns:
        for how, rows in _orderings(ballots_table):
            keys = [str(ballots_table.column(r, "id")) for r in rows]
            if keys and all(k in vectors for k in keys):
                yield how, [vectors[k] for k in keys], None
    comments = image.table("pulse_comments")
    if comments is not None:
        for how, rows in _orderings(comments):
            yield how, None, comments_of(comments, rows)


def line_up(attack: str, image: Image, orders: Orders) -> list[Guess]:
    guesses = []
    for how, vectors, comments in stored_sequences(image):
        for order_name, people in orders.items():
            tie_vectors = (
                dict(zip(people, vectors, strict=True)) if vectors and len(vectors) == len(people) else {}
            )
            tie_comments = (
                dict(zip(people, comments, strict=True)) if comments and len(comments) == len(people) else {}
            )
            if tie_vectors or tie_comments:
                guesses.append(
                    Guess(f"{attack}: {how} ~ {order_name}", image.label, tie_vectors, tie_comments, True)
                )
    return guesses


def physical_order(image: Image, orders: Orders) -> list[Guess]:
    """Rows lie in the order they were written unless something shuffles them. With the order in which
    people answered (from the idempotency keys' times, the outbox ids, the Slack receipts, or the hallway):

        SELECT ctid, ballot_id, item_id, value FROM pulse_answers ORDER BY ctid;      -- PostgreSQL
        SELECT rowid, * FROM pulse_answers ORDER BY rowid;                            -- SQLite
        SELECT * FROM pulse_answers;  SELECT * FROM pulse_comments WHERE poll_id = 1;  -- index / PK order
    and line the ballots (and comments) up with the people. Counts only when right for everyone."""
    return line_up("stored order", image, orders)


# ---------------------------------------------------------------- 3. timestamps


def timestamps(image: Image) -> list[Guess]:
    """Times tie things written together. Any timestamp in a row of the answer tables that falls in the same
    second as a timestamp in a row naming one person ties them:

        SELECT e.key, a.* FROM processed_events e JOIN pulse_ballots b ON date_trunc('second', b.created_at)
          = date_trunc('second', e.processed_at) JOIN pulse_answers a ON a.ballot_id = b.id;
    and the order of each person's times (their idempotency keys, outbox rows, audit entries) is the order in
    which they answered: lined up with the stored order of the ballots (see `physical_order`):

        SELECT key, processed_at FROM processed_events ORDER BY processed_at;
    """
    directory = Directory.of(image)
    moments: dict[datetime, set[int]] = {}
    for table, index, person in naming_rows(image, directory):
        for column in table.columns:
            when = as_time(table.column(table.rows[index], column)) if table.is_timestamp(column) else None
            if when is not None:
                moments.setdefault(when.replace(microsecond=0), set()).add(person)
    vectors, _, comments = answer_units(image)
    guesses = []
    for name in ANSWER_TABLES:
        answer_table = image.table(name)
        if answer_table is None:
            continue
        stamped = [c for c in answer_table.columns if answer_table.is_timestamp(c)]
        for row in answer_table.rows if stamped else ():
            for column in stamped:
                when = as_time(answer_table.column(row, column))
                people = moments.get(when.replace(microsecond=0), set()) if when else set()
                if len(people) != 1:
                    continue
                (person,) = people
                units = _units_of_row(image, name, row)
                guess = guess_from_units(
                    f"same second as {name}.{column}", image.label, person, units, vectors, comments
                )
                if guess is not None:
                    guesses.append(guess)
    return guesses + line_up("timestamps", image, time_orders(image))


def _units_of_row(image: Image, table_name: str, row: tuple[Any, ...]) -> set[str]:
    table = image.tables[table_name]
    if table_name == "pulse_comments":
        return {f"comment {table.rows.index(row)}"}
    if table_name == "pulse_ballots" and "id" in table.columns:
        return {f"ballot {table.column(row, 'id')}"}
    if "ballot_id" in table.columns:
        return {f"ballot {table.column(row, 'ballot_id')}"}
    return set()


def time_orders(image: Image) -> dict[str, list[int]]:
    """Orders of people a reader can read off the timestamps of rows naming them: for each timestamp column,
    each person's earliest and latest time; kept when it puts everyone in a strict order."""
    directory = Directory.of(image)
    spans: dict[tuple[str, str], dict[int, list[datetime]]] = {}
    for table, index, person in naming_rows(image, directory):
        for column in table.columns:
            if table.is_timestamp(column):
                when = as_time(table.column(table.rows[index], column))
                if when is not None:
                    spans.setdefault((table.name, column), {}).setdefault(person, []).append(when)
    orders: dict[str, list[int]] = {}
    seen: set[tuple[int, ...]] = set()
    for (table_name, column), times in sorted(spans.items()):
        for pick, choose in (("earliest", min), ("latest", max)):
            per_person = {p: choose(ts) for p, ts in times.items()}
            if len(set(per_person.values())) != len(per_person) or len(per_person) < 2:
                continue
            order = tuple(sorted(per_person, key=lambda p: per_person[p]))
            if order not in seen:
                seen.add(order)
                orders[f"{table_name}.{column} ({pick})"] = list(order)
    return orders


# ---------------------------------------------------------------- 4. keys, payloads, state, audit


def keys_and_payloads(image: Image, known_comments: Iterable[str]) -> list[Guess]:
    """Text that names a person and also holds answers: an idempotency key, an outbox target or payload, an
    audit entry's detail, a flow's saved state, any row of any table outside the answer tables.

        SELECT key FROM processed_events WHERE key LIKE '%W555%';
        SELECT target, payload, message_key FROM outbox WHERE target::text LIKE '%W555%';
        SELECT * FROM audit_log WHERE actor_person_id = 5;  SELECT data FROM flow_state;
    A row that names one person and holds one vector (item ids with their values) or one comment ties them."""
    directory = Directory.of(image)
    known = [c for c in known_comments if c]
    guesses = []
    for table, index, person in naming_rows(image, directory):
        text = "\n".join(text_of(v) for v in table.rows[index])
        vectors = vectors_in(text)
        comments = comments_in(text, known)
        tie_vectors = {person: vectors[0]} if len(vectors) == 1 else {}
        tie_comments = {person: comments[0]} if len(comments) == 1 else {}
        if tie_vectors or tie_comments:
            guesses.append(Guess(f"text of {table.name} row {index}", image.label, tie_vectors, tie_comments))
    return guesses


# ---------------------------------------------------------------- 5. identical values


def identical_values(image: Image) -> list[Guess]:
    """Ids, hashes and tokens shared between an answer row and a row that names a person:

        SELECT i.user_id, b.* FROM pulse_ballots b JOIN <t> x ON x.<col> = b.receipt_hash
          JOIN identities i ON i.person_id = x.person_id;       -- for every long column of every table
        SELECT * FROM outbox WHERE payload::text LIKE '%' || (SELECT id FROM pulse_ballots LIMIT 1) || '%';
    A value of 16 characters or more found in one ballot (or comment) and in a row naming one person ties
    them."""
    directory = Directory.of(image)
    vectors, unique, comments = answer_units(image)
    owner = {t: u for u, toks in unique.items() for t in toks}
    guesses = []
    for table, index, person in naming_rows(image, directory):
        text = "\n".join(text_of(v) for v in table.rows[index])
        units = {owner[t] for t in row_tokens(table.rows[index]) if t in owner}
        units |= {owner[t] for t in owner if len(t) >= 24 and t in text}
        guess = guess_from_units(
            f"shared value with {table.name} row {index}", image.label, person, units, vectors, comments
        )
        if guess is not None:
            guesses.append(guess)
    return guesses


def comment_ballot_links(image: Image) -> list[tuple[str, tuple[int, ...], str]]:
    """(comment, vector, how) for every comment that shares a value with exactly one ballot: the comment's
    writing style then leads to the ballot's answers.

        SELECT c.text, a.item_id, a.value FROM pulse_comments c JOIN pulse_ballots b USING (receipt_hash)
          JOIN pulse_answers a ON a.ballot_id = b.id;
        SELECT c.text, a.* FROM pulse_comments c JOIN pulse_answers a ON a.xmin = c.xmin;   -- PostgreSQL
    """
    vectors, _, comments = answer_units(image)
    all_tokens: dict[str, set[str]] = {}
    answers = image.table("pulse_answers")
    if answers is not None:
        for ballot in ballots_in(answers):
            all_tokens[f"ballot {ballot.key}"] = {t for i in ballot.rows for t in row_tokens(answers.rows[i])}
    ballots = image.table("pulse_ballots")
    if ballots is not None and "id" in ballots.columns:
        for row in ballots.rows:
            all_tokens.setdefault(f"ballot {ballots.column(row, 'id')}", set()).update(row_tokens(row))
    links = []
    table = image.table("pulse_comments")
    for position, row in enumerate(table.rows if table is not None else ()):
        mine = row_tokens(row)
        shared = {u for u, toks in all_tokens.items() if u in vectors and mine & toks}
        if len(shared) == 1:
            links.append((comments[f"comment {position}"], vectors[next(iter(shared))], "shared value"))
    if image.dialect == "postgresql" and table is not None and table.xmin is not None and answers is not None:
        by_xmin: dict[str, set[str]] = {}
        for ballot in ballots_in(answers):
            for i in ballot.rows:
                if answers.xmin is not None:
                    by_xmin.setdefault(answers.xmin[i], set()).add(f"ballot {ballot.key}")
        for position, xmin in enumerate(table.xmin):
            units = {u for u in by_xmin.get(xmin, set()) if u in vectors}
            if len(units) == 1:
                links.append((comments[f"comment {position}"], vectors[next(iter(units))], "same xmin"))
    return links


# ---------------------------------------------------------------- 6. snapshot differences


def _row_keys(table: TableImage) -> list[tuple[Any, ...]]:
    if table.xmin is None:
        return [tuple(text_of(v) for v in row) for row in table.rows]
    return [(*(text_of(v) for v in row), xmin) for row, xmin in zip(table.rows, table.xmin, strict=True)]


def difference(before: Image, after: Image) -> dict[str, tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """table → (rows added or rewritten, rows gone or rewritten), every column compared (and xmin on PG)."""
    changes = {}
    for name, table in after.tables.items():
        old = before.tables.get(name)
        old_keys = Counter(_row_keys(old)) if old is not None else Counter()
        added = [
            row for row, key in zip(table.rows, _row_keys(table), strict=True) if _missing(old_keys, key)
        ]
        gone: list[tuple[Any, ...]] = []
        if old is not None:
            new_keys = Counter(_row_keys(table))
            gone = [row for row, key in zip(old.rows, _row_keys(old), strict=True) if _missing(new_keys, key)]
        if added or gone:
            changes[name] = (added, gone)
    return changes


def _missing(counter: Counter[tuple[Any, ...]], key: tuple[Any, ...]) -> bool:
    """True when `key` is not (any more) in `counter`; otherwise False, and one of it is used up."""
    if counter[key] > 0:
        counter[key] -= 1
        return False
    return True


def _subset(table: TableImage, rows: list[tuple[Any, ...]]) -> TableImage:
    return TableImage(
        table.name, table.columns, table.types, table.primary_key, table.references, tuple(rows)
    )


def snapshot_diff(before: Image, after: Image, known_comments: Iterable[str], attack: str) -> list[Guess]:
    """Copy the database just before and just after one person submits, and compare:

        CREATE TABLE t0 AS SELECT * FROM pulse_answers;  -- … every table; then after the submit:
        SELECT * FROM pulse_answers EXCEPT SELECT * FROM t0;
    The new rows name the person who just answered; if they also show answers (item/value rows in any
    table, a comment row, a comment or vector in any text), the person's answers are out. Rows that went
    away (an edit replacing a ballot) count too."""
    directory = Directory.of(after)
    known = [c for c in known_comments if c]
    changes = difference(before, after)
    people: set[int] = set()
    for name, (added, gone) in changes.items():
        if name not in ANSWER_TABLES:
            for row in [*added, *gone]:
                people |= named(after.tables[name], row, directory)
    if len(people) != 1:
        return []
    (person,) = people
    guesses = []
    for name, (added, gone) in changes.items():
        table = after.tables[name]
        for side, rows in (("new", added), ("gone", gone)):
            if not rows:
                continue
            subset = _subset(table, rows)
            vectors = [b.vector for b in ballots_in(subset) if b.vector is not None]
            texts = comments_of(subset) if name == "pulse_comments" else []
            text = "\n".join(text_of(v) for row in rows for v in row)
            vectors += [v for v in vectors_in(text) if v not in vectors]
            texts += [c for c in comments_in(text, known) if c not in texts]
            tie_vectors = {person: vectors[0]} if len(vectors) == 1 else {}
            tie_comments = {person: texts[0]} if len(texts) == 1 else {}
            if tie_vectors or tie_comments:
                guesses.append(
                    Guess(f"{attack}: {side} rows of {name}", after.label, tie_vectors, tie_comments)
                )
    return guesses


def step_diffs(steps: Sequence[Step], known_comments: Iterable[str]) -> list[Guess]:
    known = list(known_comments)
    return [
        g
        for step in steps
        for g in snapshot_diff(step.before, step.after, known, f"snapshot around {step.kind}")
    ]


def history_diffs(history: Sequence[Image], known_comments: Iterable[str]) -> list[Guess]:
    """SQLite's write-ahead log keeps the pages each transaction wrote, in order, until a checkpoint resets
    it: replay it commit by commit (conftest.wal_history) and compare each state with the one before.

        $ xxd tandem.db-wal | less     # or: copy tandem.db and a prefix of tandem.db-wal, open with sqlite3
    """
    known = list(known_comments)
    return [
        g
        for before, after in itertools.pairwise(history)
        for g in snapshot_diff(before, after, known, "write-ahead log")
    ]


def length_leaks(steps: Sequence[Step], comment_length: Mapping[int, int]) -> list[str]:
    """The size of what each submission adds, column by column: a column whose size grows with the
    comment's length gives the length away (and with it, often, the author).

        SELECT octet_length(sealed) FROM pulse_sealed;   SELECT length(text) FROM pulse_comments;
    Every (table, column) whose added bytes per person rise strictly with the person's comment length leaks
    it (the lengths are 40+ bytes apart, so padding to blocks of 32 or less would still show)."""
    sizes: dict[tuple[str, str], dict[int, int]] = {}
    people_seen: list[int] = []
    for step in steps:
        if step.kind != "submit":
            continue
        directory = Directory.of(step.after)
        changes = difference(step.before, step.after)
        people: set[int] = set()
        for name, (added, _) in changes.items():
            if name not in ANSWER_TABLES:
                for row in added:
                    people |= named(step.after.tables[name], row, directory)
        if len(people) != 1:
            continue
        (person,) = people
        people_seen.append(person)
        for name, (added, _) in changes.items():
            table = step.after.tables[name]
            for column in table.columns:
                total = sum(size_of(table.column(row, column)) for row in added)
                sizes.setdefault((name, column), {})[person] = total
    leaks = []
    ranked = sorted((p for p in people_seen if p in comment_length), key=lambda p: comment_length[p])
    for (name, column), per_person in sorted(sizes.items()):
        series = [per_person.get(p, 0) for p in ranked]
        if len(series) >= 3 and all(a < b for a, b in itertools.pairwise(series)):
            leaks.append(
                f"{name}.{column}: {series} bytes for comments of {[comment_length[p] for p in ranked]}"
            )
    return leaks


def carried_over(steps: Sequence[Step], released: Image) -> list[Guess]:
    """What a reader copied while the poll was open, against what it releases: a released ballot or
    comment that keeps an id, a hash or a row seen when one person submitted is that person's.

        SELECT * FROM pulse_answers WHERE ballot_id IN (SELECT ballot_id FROM my_copy_after_w555);
    """
    vectors, unique, comments = answer_units(released)
    owner = {t: u for u, toks in unique.items() for t in toks}
    guesses = []
    for step in steps:
        directory = Directory.of(step.after)
        before_tokens = {
            t for table in step.before.tables.values() for row in table.rows for t in row_tokens(row)
        }
        people: set[int] = set()
        seen: set[str] = set()
        for name, (added, _) in difference(step.before, step.after).items():
            for row in added:
                if name not in ANSWER_TABLES:
                    people |= named(step.after.tables[name], row, directory)
                seen |= row_tokens(row) - before_tokens
        if len(people) != 1:
            continue
        (person,) = people
        units = {owner[t] for t in seen if t in owner}
        guess = guess_from_units(
            f"kept from the copy after {step.kind}", released.label, person, units, vectors, comments
        )
        if guess is not None:
            guesses.append(guess)
    return guesses


# ---------------------------------------------------------------- 7. logs


def log_lines(messages: Sequence[str], directory: Directory, known_comments: Iterable[str]) -> list[Guess]:
    """The application's log, at DEBUG: a line that names one person and holds one vector or comment ties
    them; so do the lines that follow a line naming one person, up to the next line that names someone
    (the statements a request ran, the calls it made), if together they hold one vector or one comment.

        $ grep -n 'W555' tandem.log;  sed -n '1200,1240p' tandem.log
    """
    known = [c for c in known_comments if c]
    guesses: list[Guess] = []
    current: int | None = None
    vectors: set[tuple[int, ...]] = set()
    comments: set[str] = set()
    crowded = False  # the segment writes out several ballots or comments at once: no one's in particular

    def close_segment(line: int) -> None:
        if current is None or crowded:
            return
        tie_vectors = {current: next(iter(vectors))} if len(vectors) == 1 else {}
        tie_comments = {current: next(iter(comments))} if len(comments) == 1 else {}
        if tie_vectors or tie_comments:
            guesses.append(Guess(f"log lines up to line {line}", "log", tie_vectors, tie_comments))

    for number, message in enumerate(messages):
        people = directory.in_text(message)
        found_vectors = vectors_in(message)
        found_comments = comments_in(message, known)
        if len(people) == 1 and (found_vectors or len(found_comments) == 1):
            (person,) = people
            guesses.append(
                Guess(
                    f"log line {number}",
                    "log",
                    {person: found_vectors[0]} if found_vectors else {},
                    {person: found_comments[0]} if len(found_comments) == 1 else {},
                )
            )
        if people and people != {current}:
            close_segment(number)
            current = next(iter(people)) if len(people) == 1 else None
            vectors, comments, crowded = set(), set(), False
        vectors.update(found_vectors)
        comments.update(found_comments)
        crowded = crowded or ballots_written(message) > 1 or len(found_comments) > 1
    close_segment(len(messages))
    return guesses


# ---------------------------------------------------------------- batteries


def static_attacks(image: Image, orders: Orders, known_comments: Sequence[str]) -> list[Guess]:
    """Everything a reader of one copy of the database can try."""
    return [
        *crowd_of_one(image),
        *xmin_join(image),
        *physical_order(image, orders),
        *timestamps(image),
        *keys_and_payloads(image, known_comments),
        *identical_values(image),
    ]

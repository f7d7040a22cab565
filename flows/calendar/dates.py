"""Reading the dates people type: `2026-12-25`, `2026-12-21..2027-01-04`, a quoted holiday name. Pure; a
refusal is a catalog key (and the values it names) for the flow to say."""

from __future__ import annotations

from datetime import date

RANGE_SEPARATORS = ("..", "–", "—")  # ISO dates hold "-": a range is written with two dots (or a dash)
QUOTES = "\"'“”‘’"
MAX_NAME = 200


class Refusal(Exception):
    """Why a typed date (or range, or name) was refused: a catalog key and its placeholders."""

    def __init__(self, key: str, values: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(key)
        self.key = key
        self.fields = dict(values)


def parse_day(word: str) -> date:
    """An ISO date (YYYY-MM-DD); Refusal otherwise."""
    word = word.strip()
    try:
        if len(word) != 10:
            raise ValueError(word)
        return date.fromisoformat(word)
    except ValueError:
        raise Refusal("calendar.bad_date", (("text", word),)) from None


def parse_range(text: str) -> tuple[date, date]:
    """`FIRST..LAST` (inclusive) or one day; Refusal when malformed or when it ends before it starts."""
    text = text.strip()
    for separator in RANGE_SEPARATORS:
        if separator in text:
            first_text, _, last_text = text.partition(separator)
            first, last = parse_day(first_text), parse_day(last_text)
            break
    else:
        first = last = parse_day(text)
    if last < first:
        raise Refusal("calendar.range_reversed", (("first", first.isoformat()), ("last", last.isoformat())))
    return first, last


def not_past(first: date, today: date) -> None:
    """Refusal when `first` is before `today` (the team's local date)."""
    if first < today:
        raise Refusal("calendar.in_the_past", (("day", first.isoformat()), ("today", today.isoformat())))


def holiday_name(text: str) -> str:
    """A holiday's name as typed, quotes removed; Refusal when empty or too long."""
    name = text.strip().strip(QUOTES).strip()
    if not name:
        raise Refusal("calendar.holiday_needs_name")
    if len(name) > MAX_NAME:
        raise Refusal("calendar.holiday_name_too_long", (("limit", str(MAX_NAME)),))
    return name

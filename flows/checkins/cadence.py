"""A check-in cadence as people type it: `every other Tuesday`, `weekly on mondays`, `every 3 weeks`,
`monthly`, turned into the RRULE the schedule keeps (`FREQ=WEEKLY;INTERVAL=2;BYDAY=TU`). What is not said
is kept from the current rule: `thursday` alone moves the day, `weekly` alone keeps the day. Pure: the
command reads it (flows/checkins/commands.py); an RRULE typed as such is still taken as it is."""

from __future__ import annotations

import re
from collections.abc import Sequence

DAYS = {
    "monday": "MO",
    "tuesday": "TU",
    "wednesday": "WE",
    "thursday": "TH",
    "friday": "FR",
    "saturday": "SA",
    "sunday": "SU",
}
_SHORT = {name[:3]: code for name, code in DAYS.items()} | {"tues": "TU", "thur": "TH", "thurs": "TH"}
_NUMBERS = {"two": 2, "three": 3, "four": 4}
_FILLER = {"on", "at", "the", "a", "each", "week", "weeks"}
MAX_WEEKS = 8


class CadenceError(ValueError):
    """Words that look like a cadence but are not one; `word` is the one not understood."""

    def __init__(self, word: str) -> None:
        super().__init__(word)
        self.word = word


def day_code(word: str) -> str | None:
    """`tuesday`, `Tuesdays`, `tue` → "TU"; None for anything else."""
    word = word.lower().rstrip(",")
    word = word[:-1] if word.endswith("s") and word[:-1] in DAYS else word
    return DAYS.get(word) or _SHORT.get(word)


def is_cadence_word(word: str) -> bool:
    lowered = word.lower().rstrip(",")
    return (
        day_code(lowered) is not None
        or lowered in {"every", "other", "weekly", "biweekly", "fortnightly", "monthly", "month"}
        or lowered in _FILLER
        or lowered in _NUMBERS
        or lowered.isdigit()
    )


def cadence_rule(words: Sequence[str], current: str) -> str:
    """The RRULE for `words` (cadence words only, in order), keeping from `current` what they leave out."""
    parts = dict(p.split("=", 1) for p in current.removeprefix("RRULE:").split(";") if "=" in p)
    current_day = re.sub(r"^[+-]?\d*", "", parts.get("BYDAY", "MO").split(",")[0]) or "MO"
    freq: str | None = None
    interval: int | None = None
    day: str | None = None
    lowered = [w.lower().rstrip(",") for w in words]
    i = 0
    while i < len(lowered):
        word = lowered[i]
        following = lowered[i + 1] if i + 1 < len(lowered) else ""
        if day_code(word):
            day = day_code(word)
        elif word in ("weekly",):
            freq, interval = "WEEKLY", 1
        elif word in ("biweekly", "fortnightly"):
            freq, interval = "WEEKLY", 2
        elif word in ("monthly",):
            freq, interval = "MONTHLY", 1
        elif word == "every":
            if following == "other":
                freq, interval = "WEEKLY", 2
                i += 1
            elif following.isdigit() or following in _NUMBERS:
                n = int(following) if following.isdigit() else _NUMBERS[following]
                if not 1 <= n <= MAX_WEEKS:
                    raise CadenceError(following)
                freq, interval = "WEEKLY", n
                i += 1
            elif following == "month":
                freq, interval = "MONTHLY", 1
                i += 1
            else:
                freq, interval = freq or "WEEKLY", interval or 1
        elif word not in _FILLER:
            raise CadenceError(words[i])
        i += 1
    if freq is None:  # a day alone: the current cadence on that day
        freq = parts.get("FREQ", "WEEKLY")
        interval = int(parts.get("INTERVAL", "1")) if parts.get("INTERVAL", "1").isdigit() else 1
        if freq not in ("WEEKLY", "MONTHLY"):
            freq, interval = "WEEKLY", 1
    day = day or current_day
    rule = f"FREQ={freq}"
    if interval and interval > 1:
        rule += f";INTERVAL={interval}"
    return rule + (f";BYDAY=1{day}" if freq == "MONTHLY" else f";BYDAY={day}")

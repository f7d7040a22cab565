"""Reading a promise from a command: `"Draft the survey to staff" @Maria @Tom due 2026-12-04`.

Pure. The title is the quoted text (straight or curly quotes), or the words before the first mention or
`due`; the owners are the people mentioned after it (none: the speaker); the due date is what follows
`due`, read by `parse_due` in the team's local date.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from flows.actions.dates import parse_due
from flows.core.mentions import mentioned_in
from flows.core.types import Actor
from storage.action_items import TITLE_MAX

QUOTES = {'"': '"', "“": "”", "'": "'", "«": "»", "‘": "’"}
_TAIL = re.compile(r"(?:^|\s)(@\d+|due\b)", re.IGNORECASE)
_DUE = re.compile(r"\bdue\b(.*)$", re.IGNORECASE | re.DOTALL)
_MENTION = re.compile(r"@\d+")


class CaptureError(ValueError):
    """What is wrong, as a catalog key and its values."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key, self.values = key, values


@dataclass(frozen=True)
class Capture:
    title: str
    owners: tuple[Actor, ...]
    due: date


def check_title(title: str) -> str:
    title = " ".join(title.split())
    if not title:
        raise CaptureError("actions.refuse.empty_title")
    if len(title) > TITLE_MAX:
        raise CaptureError("actions.refuse.long_title", limit=TITLE_MAX, length=len(title))
    return title


def check_due(text: str, today: date) -> date:
    if not text.strip():
        raise CaptureError("actions.refuse.no_due")
    due = parse_due(text, today)
    if due is None:
        raise CaptureError("actions.refuse.bad_due", text=text.strip()[:40])
    if due < today:
        raise CaptureError("actions.refuse.past_due", due=due.isoformat(), today=today.isoformat())
    return due


def parse_capture(rest: str, mentions: Sequence[Actor], today: date) -> Capture:
    rest = rest.strip()
    if rest[:1] in QUOTES:
        close = rest.find(QUOTES[rest[0]], 1)
        if close < 0:
            raise CaptureError("actions.refuse.unclosed_quote")
        title, tail = rest[1:close], rest[close + 1 :]
    else:
        found = _TAIL.search(rest)
        title, tail = (rest[: found.start()], rest[found.start() :]) if found else (rest, "")
    title = check_title(title)
    due_match = _DUE.search(tail)
    due_text = _MENTION.sub(" ", due_match.group(1)) if due_match else ""
    due = check_due(due_text, today)
    return Capture(title, tuple(mentioned_in(tail, mentions)), due)

"""The rules of talking points, as pure functions: the hash an approval binds to, when both sides have
approved, the platforms' message limits, and the reopen vote's 75 %."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flows.core.types import Card, Text, card_to_json
from storage.talking_points import Approval, PointSet

SIDES = ("labor", "management")  # the two sides whose co-chairs approve joint talking points

# Slack (Block Kit reference, https://api.slack.com/reference/block-kit/blocks): a section's text holds at
# most 3,000 characters and a message at most 50 blocks; every Card element of a post is one block.
SLACK_SECTION_TEXT = 3000
SLACK_BLOCKS = 50
# Teams (learn.microsoft.com "Format your bot messages"): a bot message past the size limit is refused with
# 413 MessageSizeTooBig. Microsoft has published 25-28 KB, 40 KB and (today) 100 KB; like the Teams adapter
# (adapters/teams/cards.py), we keep under the strictest, 25 KB, measured as UTF-8 JSON, leaving 2 KB for
# the Adaptive Card around our text (about 20 bytes an element, measured).
TEAMS_MESSAGE_BYTES = 25_000
TEAMS_CARD_OVERHEAD = 2_000

REOPEN_PERCENT = 75  # WCCUSD rule 12 (guidebook 001:L3129-3133): 75 % of the group


def text_hash(
    points: Sequence[str], note: str | None, channels: Iterable[object], decisions: Sequence[int]
) -> str:
    """What an approval binds to: the exact points, note, audience and attached decisions (16 hex)."""
    canonical = json.dumps(
        {
            "points": list(points),
            "note": note or "",
            "channels": [repr(c) for c in channels],
            "decisions": list(decisions),
        },
        ensure_ascii=False,
        sort_keys=True,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def hash_of(point_set: PointSet) -> str:
    return text_hash(point_set.points, point_set.note, point_set.channels, point_set.decision_ids)


def current_approvals(point_set: PointSet) -> list[Approval]:
    """The approvals of the text as it stands (an edit deletes the others; a stale one never counts)."""
    wanted = hash_of(point_set)
    return [a for a in point_set.approvals if a.text_hash == wanted]


def both_sides(approvals: Sequence[Approval]) -> bool:
    """One labor and one management co-chair: two of one side are not enough."""
    return set(SIDES) <= {a.side for a in approvals}


def split_points(raw: str) -> list[str]:
    """One point a line (or separated by " | " when typed as a command); bullets and blanks dropped."""
    lines = raw.replace("|", "\n").splitlines()
    points = [line.strip().lstrip("•-*·").strip() for line in lines]
    return [p for p in points if p]


@dataclass(frozen=True)
class TooBig:
    """Why a post cannot go out as one message: the catalog key and its values."""

    key: str
    values: dict[str, int]


def too_big(card: Card) -> TooBig | None:
    """A post that Slack or Teams would refuse or cut: the first reason, else None."""
    for n, element in enumerate(card.elements):
        if isinstance(element, Text) and len(element.text) > SLACK_SECTION_TEXT:
            return TooBig(
                "points.limit.slack_text", {"chars": len(element.text), "limit": SLACK_SECTION_TEXT, "n": n}
            )
    if len(card.elements) > SLACK_BLOCKS:
        return TooBig("points.limit.slack_blocks", {"blocks": len(card.elements), "limit": SLACK_BLOCKS})
    size = len(json.dumps(card_to_json(card), ensure_ascii=False).encode("utf-8"))
    if size + TEAMS_CARD_OVERHEAD > TEAMS_MESSAGE_BYTES:
        return TooBig(
            "points.limit.teams_size",
            {"kb": (size + TEAMS_CARD_OVERHEAD) // 1000, "limit": TEAMS_MESSAGE_BYTES // 1000},
        )
    return None


def reopen_outcome(agree: int, disagree: int, electorate: int) -> str | None:
    """ "passed" once at least 75 % of the team agree, "failed" once that can no longer happen, else
    None (still open). Integer arithmetic: 74 of 100 fails, 75 of 100 passes."""
    if agree * 100 >= REOPEN_PERCENT * electorate:
        return "passed"
    if (electorate - disagree) * 100 < REOPEN_PERCENT * electorate:
        return "failed"
    return None

"""People mentioned in a command, the same way on every platform.

Adapters replace each mention in a command's text by `@<n>` and list the people in
`CommandEvent.mentions` (flows/core/types.py). These helpers read the placeholders back and find the
people: a Slack `<@U…>` and a Teams `<at>…</at>` of the same person reach the same Person, through the
identities the team file (or `setup`) recorded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from flows.core.types import Actor
from storage import teams
from storage.teams import PersonView

PLACEHOLDER = re.compile(r"^@(\d+)$")
_ANYWHERE = re.compile(r"@(\d+)\b")


def mention_at(word: str, mentions: Sequence[Actor]) -> Actor | None:
    """The person `word` (`@2`, a trailing comma allowed) stands for; None when it is not a mention."""
    match = PLACEHOLDER.match(word.rstrip(",;"))
    if match is None or int(match.group(1)) >= len(mentions):
        return None
    return mentions[int(match.group(1))]


def mentioned_in(text: str, mentions: Sequence[Actor]) -> list[Actor]:
    """Every person mentioned in `text`, in order, each once."""
    found: list[Actor] = []
    for match in _ANYWHERE.finditer(text):
        index = int(match.group(1))
        if index < len(mentions) and mentions[index] not in found:
            found.append(mentions[index])
    return found


def display(actor: Actor) -> str:
    return actor.display_name or actor.user_id


async def person_of(session: AsyncSession, actor: Actor) -> PersonView | None:
    """The person behind a mention, whichever platform it came from; None for someone Tandem doesn't know."""
    return await teams.person_by_identity(session, actor.platform, actor.user_id)

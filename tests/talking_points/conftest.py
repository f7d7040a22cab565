"""Talking-points test helpers: a team with two labor co-chairs, one management co-chair, a facilitator
and broadcast channels of its own, acting through the local adapter."""

from __future__ import annotations

from typing import Any

from flows.core.types import Buttons, Card, Fields
from flows.talking_points import cards
from tests.conftest import Stack, team_spec

BROADCAST = [
    {"platform": "local", "id": "staff", "name": "#staff"},
    {"platform": "local", "id": "union-members", "name": "#union-members"},
]


def points_team(**overrides: Any) -> dict[str, Any]:
    """Co-chairs ana and al (labor) and ben (management); cy, di, ed, fay members."""
    members = [
        {"name": "Ana Labor", "side": "labor", "co_chair": True, "local": "ana"},
        {"name": "Al Union", "side": "labor", "co_chair": True, "local": "al"},
        {"name": "Ben Manager", "side": "management", "co_chair": True, "local": "ben"},
        {"name": "Cy Teacher", "side": "labor", "local": "cy"},
        {"name": "Di Principal", "side": "management", "local": "di"},
        {"name": "Ed Board", "side": "board", "local": "ed"},
        {"name": "Fay Parent", "side": "community", "local": "fay"},
    ]
    spec = team_spec(members=members, broadcast_channels=BROADCAST)
    spec.update(overrides)
    return spec


def buttons(card: Card) -> dict[str, str]:
    """action id → value of the card's buttons."""
    return {b.action_id: b.value for e in card.elements if isinstance(e, Buttons) for b in e.buttons}


CARD_TITLES = ("Draft", "Joint talking points, approved", "Withdrawn draft")  # the card's title by state


def latest_card(stack: Stack, user: str) -> Card:
    """The approval card as `user` sees it now (the last version sent or updated to their DM)."""
    for entry in reversed(stack.local.transcript):
        if entry.target.get("user") == user and entry.card.summary.startswith(CARD_TITLES):
            return entry.card
    raise AssertionError(f"no approval card for {user}")


def approve_value(stack: Stack, user: str) -> str:
    value = buttons(latest_card(stack, user)).get(cards.APPROVE)
    assert value, f"{user}'s card has no approve button"
    return value


def plain(card: Card) -> str:
    """Every word of a card, unwrapped: headers, paragraphs, context lines and fields."""
    parts: list[str] = []
    for element in card.elements:
        if isinstance(element, Fields):
            parts += [f"{a}: {b}" for a, b in element.pairs]
        elif hasattr(element, "text"):
            parts.append(str(element.text))
    return "\n".join(parts)


def posts_to(stack: Stack, address: str) -> list[str]:
    """What each audience channel received as new messages (updates excluded)."""
    return [
        plain(e.card) for e in stack.local.transcript if e.target.get("address") == address and not e.updated
    ]


def replies_to(stack: Stack, user: str) -> list[str]:
    """The bot's answers to what `user` typed or clicked (in their chat with the bot)."""
    return [plain(e.card) for e in stack.local.transcript if e.target.get("address") == f"dm-{user}"]


def dms_to(stack: Stack, user: str) -> list[str]:
    """Messages the bot sent `user` on its own account (notifications, cards), updates excluded."""
    return [plain(e.card) for e in stack.local.transcript if e.target.get("user") == user and not e.updated]


async def act(stack: Stack, user: str, text: str) -> None:
    await stack.local.command(user, text)
    await stack.worker.drain()


async def click(stack: Stack, user: str, action_id: str, value: str) -> None:
    await stack.local.click(user, action_id, value)
    await stack.worker.drain()


def last_to(stack: Stack, user: str) -> str:
    """The last thing `user` was told, as a reply or a direct message (a form's refusal comes as one)."""
    for entry in reversed(stack.local.transcript):
        if entry.target.get("address") == f"dm-{user}" or entry.target.get("user") == user:
            return plain(entry.card)
    raise AssertionError(f"nothing was said to {user}")

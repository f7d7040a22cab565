"""The local chat page's own records: the messages the local adapter delivered (so the page shows them
again after `tandem serve` restarts) and the page's moved clock.

Only the local adapter writes here, and only when the chat page is on (a trial of Tandem on one machine, no
Slack or Teams). A message is stored as the adapter received it from the outbox: a neutral Card, addressed
to a conversation (a person's direct conversation `dm-<user>`, or a team channel's address), visible to
one person only when `private_to` says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, Identity, Membership, Person, Team, TeamChannel
from storage.sql import insert_ignore


class LocalChatMessage(Base):
    __tablename__ = "local_chat_messages"
    __table_args__ = (Index("ix_local_chat_messages_conversation", "conversation", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation: Mapped[str] = mapped_column(String(300))
    private_to: Mapped[str | None] = mapped_column(String(200))
    # the local user who typed it (a person's own line, shown to them only), or None for Tandem's messages
    author: Mapped[str | None] = mapped_column(String(200))
    card: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime | None]


class LocalChatState(Base):
    """Small named values of the chat page (the clock's offset), kept across restarts."""

    __tablename__ = "local_chat_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


async def add(
    session: AsyncSession,
    conversation: str,
    card: dict[str, Any],
    now: datetime,
    *,
    private_to: str | None = None,
    author: str | None = None,
) -> LocalChatMessage:
    row = LocalChatMessage(
        conversation=conversation, private_to=private_to, author=author, card=card, created_at=now
    )
    session.add(row)
    await session.flush()
    return row


async def replace(session: AsyncSession, message_id: int, card: dict[str, Any], now: datetime) -> bool:
    row = await session.get(LocalChatMessage, message_id)
    if row is None:
        return False
    row.card = card
    row.updated_at = now
    return True


async def get(session: AsyncSession, message_id: int) -> LocalChatMessage | None:
    return await session.get(LocalChatMessage, message_id)


async def in_conversation(
    session: AsyncSession, conversation: str, viewer: str, limit: int = 200
) -> list[LocalChatMessage]:
    """The latest `limit` messages of a conversation that `viewer` may see, oldest first."""
    stmt = (
        select(LocalChatMessage)
        .where(
            LocalChatMessage.conversation == conversation,
            (LocalChatMessage.private_to.is_(None)) | (LocalChatMessage.private_to == viewer),
        )
        .order_by(LocalChatMessage.id.desc())
        .limit(limit)
    )
    return list(reversed(list((await session.execute(stmt)).scalars())))


async def get_state(session: AsyncSession, name: str) -> str | None:
    row = await session.get(LocalChatState, name)
    return row.value if row is not None else None


async def set_state(session: AsyncSession, name: str, value: str) -> None:
    """Set a value (two replicas may set the same name at once: the insert never collides)."""
    if not await insert_ignore(session, LocalChatState, {"name": name, "value": value}):
        await session.execute(update(LocalChatState).where(LocalChatState.name == name).values(value=value))


@dataclass(frozen=True)
class LocalPerson:
    user: str  # the local user id
    name: str
    side: str
    co_chair: bool


@dataclass(frozen=True)
class LocalTeam:
    id: int
    name: str
    timezone: str
    people: tuple[LocalPerson, ...]
    channels: tuple[tuple[str, str], ...]  # (address, name) of the team's local channels


async def local_teams(session: AsyncSession) -> list[LocalTeam]:
    """Every team, with its members who have a local identity and its local channels."""
    found: list[LocalTeam] = []
    for team in (await session.execute(select(Team).order_by(Team.name))).scalars():
        people = (
            await session.execute(
                select(
                    Identity.user_id,
                    func.coalesce(Membership.display_name, Person.display_name),
                    Membership.side,
                    Membership.co_chair,
                )
                .join(Person, Person.id == Membership.person_id)
                .join(Identity, Identity.person_id == Person.id)
                .where(Membership.team_id == team.id, Identity.platform == "local")
                .order_by(Membership.position, Membership.id)
            )
        ).all()
        channels = (
            await session.execute(
                select(TeamChannel.address, TeamChannel.name)
                .where(TeamChannel.team_id == team.id, TeamChannel.platform == "local")
                .order_by(TeamChannel.id)
            )
        ).all()
        found.append(
            LocalTeam(
                team.id,
                team.name,
                team.timezone,
                tuple(LocalPerson(*row) for row in people),
                tuple((address, name or address) for address, name in channels),
            )
        )
    return found

"""Microsoft Teams: stored conversation references and team rosters.

A conversation reference (service URL, conversation id, tenant, bot) is what a bot needs to speak first:
the scheduler's reminders and the outbox's proactive sends. One is stored per Teams conversation (a
person's personal chat, a channel, a group chat) when the app is installed there and on first contact.
The roster of a team (from the Bot Connector's member list) maps the people Tandem knows (by their
Azure AD object id) to their Teams user ids, and tells which tenant to open a personal chat in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Index, String, UniqueConstraint, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, Identity

PLATFORM = "teams"


class TeamsConversation(Base):
    """Where Tandem can post in Teams without being spoken to first."""

    __tablename__ = "teams_conversations"
    __table_args__ = (
        Index("ix_teams_conversations_user", "user_id"),
        Index("ix_teams_conversations_aad", "aad_object_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(400), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # personal | channel | groupChat
    tenant_id: Mapped[str] = mapped_column(String(100), default="")
    service_url: Mapped[str] = mapped_column(String(500))
    team_id: Mapped[str | None] = mapped_column(String(400))  # the Teams team ("19:…@thread…"), channels
    user_id: Mapped[str | None] = mapped_column(String(200))  # personal chats: the person's "29:…" id
    aad_object_id: Mapped[str | None] = mapped_column(String(100))
    reference: Mapped[dict[str, Any]]  # the Bot Framework ConversationReference, serialized
    installed: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime]


class TeamsMember(Base):
    """One member of a Teams team as the Bot Connector lists them (roster sync)."""

    __tablename__ = "teams_members"
    __table_args__ = (
        UniqueConstraint("team_id", "user_id"),
        Index("ix_teams_members_aad", "aad_object_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(400))
    tenant_id: Mapped[str] = mapped_column(String(100), default="")
    user_id: Mapped[str] = mapped_column(String(200))
    aad_object_id: Mapped[str | None] = mapped_column(String(100))
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    updated_at: Mapped[datetime]


@dataclass(frozen=True)
class RosterEntry:
    user_id: str
    aad_object_id: str | None
    name: str | None
    email: str | None


async def save_conversation(
    session: AsyncSession,
    *,
    conversation_id: str,
    kind: str,
    tenant_id: str,
    service_url: str,
    reference: dict[str, Any],
    now: datetime,
    team_id: str | None = None,
    user_id: str | None = None,
    aad_object_id: str | None = None,
) -> TeamsConversation:
    """Insert or refresh the reference for `conversation_id` (safe against a concurrent first contact)."""
    values: dict[str, Any] = {
        "kind": kind,
        "tenant_id": tenant_id,
        "service_url": service_url,
        "reference": reference,
        "installed": True,
        "updated_at": now,
    }
    for name, value in (("team_id", team_id), ("user_id", user_id), ("aad_object_id", aad_object_id)):
        if value:
            values[name] = value
    for _ in range(2):
        row = await conversation(session, conversation_id)
        if row is not None:
            for name, value in values.items():
                setattr(row, name, value)
            await session.flush()
            return row
        try:
            async with session.begin_nested():
                row = TeamsConversation(conversation_id=conversation_id, **values)
                session.add(row)
            return row
        except IntegrityError:
            continue  # another request stored it first: update theirs
    raise RuntimeError(f"could not store the Teams conversation {conversation_id!r}")


async def conversation(session: AsyncSession, conversation_id: str) -> TeamsConversation | None:
    stmt = select(TeamsConversation).where(TeamsConversation.conversation_id == conversation_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def personal_conversation(session: AsyncSession, user_ids: Sequence[str]) -> TeamsConversation | None:
    """The personal chat with a person named by any of their ids ("29:…" or Azure AD object id)."""
    ids = [u for u in user_ids if u]
    if not ids:
        return None
    stmt = (
        select(TeamsConversation)
        .where(
            TeamsConversation.kind == "personal",
            TeamsConversation.installed.is_(True),
            or_(TeamsConversation.user_id.in_(ids), TeamsConversation.aad_object_id.in_(ids)),
        )
        .order_by(TeamsConversation.updated_at.desc())
    )
    return (await session.execute(stmt.limit(1))).scalars().first()


async def any_conversation(session: AsyncSession, tenant_id: str | None = None) -> TeamsConversation | None:
    """The most recently refreshed installed conversation (in `tenant_id` when given): its service URL and
    tenant are where a new conversation in that tenant is opened."""
    stmt = select(TeamsConversation).where(TeamsConversation.installed.is_(True))
    if tenant_id:
        stmt = stmt.where(TeamsConversation.tenant_id == tenant_id)
    stmt = stmt.order_by(TeamsConversation.updated_at.desc(), TeamsConversation.id.desc())
    return (await session.execute(stmt.limit(1))).scalars().first()


async def mark_uninstalled(session: AsyncSession, conversation_ids: Iterable[str]) -> None:
    ids = [c for c in conversation_ids if c]
    if ids:
        await session.execute(
            update(TeamsConversation)
            .where(TeamsConversation.conversation_id.in_(ids))
            .values(installed=False)
        )


async def mark_team_uninstalled(session: AsyncSession, team_id: str) -> None:
    await session.execute(
        update(TeamsConversation).where(TeamsConversation.team_id == team_id).values(installed=False)
    )


async def save_roster(
    session: AsyncSession, team_id: str, tenant_id: str, members: Sequence[RosterEntry], now: datetime
) -> int:
    """Insert or refresh the listed members of a team; the number stored."""
    existing = {
        m.user_id: m
        for m in (await session.execute(select(TeamsMember).where(TeamsMember.team_id == team_id))).scalars()
    }
    for entry in members:
        row = existing.get(entry.user_id)
        if row is None:
            row = TeamsMember(team_id=team_id, user_id=entry.user_id, tenant_id=tenant_id, updated_at=now)
            session.add(row)
            existing[entry.user_id] = row
        row.tenant_id = tenant_id
        row.aad_object_id = entry.aad_object_id or row.aad_object_id
        row.name = entry.name or row.name
        row.email = entry.email or row.email
        row.updated_at = now
    await session.flush()
    return len(members)


async def roster_member(session: AsyncSession, user_ids: Sequence[str]) -> TeamsMember | None:
    """A roster row for a person named by any of their ids (their "29:…" id or Azure AD object id)."""
    ids = [u for u in user_ids if u]
    if not ids:
        return None
    stmt = (
        select(TeamsMember)
        .where(or_(TeamsMember.user_id.in_(ids), TeamsMember.aad_object_id.in_(ids)))
        .order_by(TeamsMember.updated_at.desc())
    )
    return (await session.execute(stmt.limit(1))).scalars().first()


async def known_identity(session: AsyncSession, user_ids: Sequence[str]) -> str | None:
    """Which of these ids a team file used for this Teams person (AAD object id or "29:…" id), if any."""
    ids = [u for u in user_ids if u]
    if not ids:
        return None
    stmt = select(Identity.user_id).where(Identity.platform == PLATFORM, Identity.user_id.in_(ids))
    found = set((await session.execute(stmt)).scalars())
    return next((u for u in ids if u in found), None)


async def remember_dm_address(session: AsyncSession, user_ids: Sequence[str], address: str) -> None:
    """Record a person's personal chat on their Teams identity, so the outbox addresses it directly."""
    ids = [u for u in user_ids if u]
    if ids:
        await session.execute(
            update(Identity)
            .where(Identity.platform == PLATFORM, Identity.user_id.in_(ids))
            .values(dm_address=address)
        )

"""Slack workspaces the app is installed in: encrypted bot tokens, revocation, OAuth state.

Tokens are stored as ciphertext only; the adapter encrypts and decrypts them (storage never sees a key).
Revoking (``tokens_revoked`` / ``app_uninstalled``) marks the workspace and keeps every team's data.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base
from storage.sql import insert_ignore


class SlackWorkspace(Base):
    """One Slack installation (a workspace, or an org for an enterprise-wide install)."""

    __tablename__ = "slack_workspaces"
    __table_args__ = (UniqueConstraint("enterprise_id", "team_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(32), default="")
    team_id: Mapped[str] = mapped_column(String(32), default="")
    team_name: Mapped[str | None] = mapped_column(String(200))
    bot_user_id: Mapped[str | None] = mapped_column(String(32))
    bot_id: Mapped[str | None] = mapped_column(String(32))
    bot_scopes: Mapped[str | None] = mapped_column(Text)
    bot_token_encrypted: Mapped[str | None] = mapped_column(Text)  # Fernet ciphertext; None when revoked
    token_fingerprint: Mapped[str | None] = mapped_column(
        String(64)
    )  # sha256 of the token, to spot a new one
    installer_user_id: Mapped[str | None] = mapped_column(String(32))
    installed_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class SlackOAuthState(Base):
    """A one-time OAuth `state` value: issued by /slack/install, consumed by /slack/oauth_redirect."""

    __tablename__ = "slack_oauth_states"

    state: Mapped[str] = mapped_column(String(100), primary_key=True)
    expires_at: Mapped[datetime]


async def find(session: AsyncSession, team_id: str, enterprise_id: str = "") -> SlackWorkspace | None:
    stmt = select(SlackWorkspace).where(
        SlackWorkspace.team_id == team_id, SlackWorkspace.enterprise_id == enterprise_id
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def find_enterprise(session: AsyncSession, enterprise_id: str) -> SlackWorkspace | None:
    """An org-wide install (team_id "") for `enterprise_id`."""
    return await find(session, "", enterprise_id)


async def save(
    session: AsyncSession,
    *,
    team_id: str,
    enterprise_id: str,
    now: datetime,
    team_name: str | None = None,
    bot_user_id: str | None = None,
    bot_id: str | None = None,
    bot_scopes: str | None = None,
    bot_token_encrypted: str | None = None,
    token_fingerprint: str | None = None,
    installer_user_id: str | None = None,
) -> SlackWorkspace:
    """Insert or refresh an installation; a (re)install clears an earlier revocation."""
    row = await find(session, team_id, enterprise_id)
    if row is None:
        row = SlackWorkspace(team_id=team_id, enterprise_id=enterprise_id, installed_at=now)
        session.add(row)
    row.team_name = team_name or row.team_name
    row.bot_user_id = bot_user_id or row.bot_user_id
    row.bot_id = bot_id or row.bot_id
    row.bot_scopes = bot_scopes or row.bot_scopes
    if bot_token_encrypted is not None:
        row.bot_token_encrypted = bot_token_encrypted
        row.token_fingerprint = token_fingerprint
        row.revoked_at = None
        row.installed_at = now
    row.installer_user_id = installer_user_id or row.installer_user_id
    await session.flush()
    return row


async def mark_revoked(
    session: AsyncSession, team_id: str, enterprise_id: str, now: datetime, token_fingerprint: str | None
) -> None:
    """Stop using this workspace's bot token (keep the row and every team's data)."""
    row = await find(session, team_id, enterprise_id)
    if row is None:
        row = SlackWorkspace(team_id=team_id, enterprise_id=enterprise_id, installed_at=now)
        session.add(row)
    row.revoked_at = now
    row.bot_token_encrypted = None
    if token_fingerprint is not None:
        row.token_fingerprint = token_fingerprint
    await session.flush()


async def revoked(session: AsyncSession) -> list[SlackWorkspace]:
    stmt = select(SlackWorkspace).where(SlackWorkspace.revoked_at.is_not(None))
    return list((await session.execute(stmt)).scalars())


async def active(session: AsyncSession, limit: int = 2) -> list[SlackWorkspace]:
    """Installations with a usable token (at most `limit`)."""
    stmt = (
        select(SlackWorkspace)
        .where(SlackWorkspace.revoked_at.is_(None), SlackWorkspace.bot_token_encrypted.is_not(None))
        .order_by(SlackWorkspace.team_id)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def issue_state(session: AsyncSession, state: str, expires_at: datetime) -> None:
    await insert_ignore(session, SlackOAuthState, {"state": state, "expires_at": expires_at})


async def consume_state(session: AsyncSession, state: str, now: datetime) -> bool:
    """True once for a state that was issued and has not expired."""
    row = await session.get(SlackOAuthState, state)
    if row is None:
        return False
    await session.execute(delete(SlackOAuthState).where(SlackOAuthState.state == state))
    return row.expires_at >= now

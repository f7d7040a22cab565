"""Who a Slack user is: `users.info` on first contact (name, time zone, locale), cached in memory.

The profile is written onto the matching Person (time zone; name when we only had a placeholder) and the
request's workspace onto their identity and the channel; strangers are looked up and cached but nothing is
created for them (no person, no membership).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import slack_users

log = logging.getLogger("tandem.slack")

Call = Callable[..., Awaitable[dict[str, Any]]]  # SlackAdapter._call(workspace, method, **args)


@dataclass(frozen=True)
class Profile:
    user_id: str
    name: str | None
    timezone: str | None
    locale: str | None
    is_bot: bool = False


def profile_from(user: dict[str, Any]) -> Profile:
    info = user.get("profile") if isinstance(user.get("profile"), dict) else {}
    assert isinstance(info, dict)
    name = (
        info.get("display_name") or info.get("real_name") or user.get("real_name") or user.get("name") or None
    )
    return Profile(
        user_id=str(user.get("id") or ""),
        name=str(name) if name else None,
        timezone=str(user["tz"]) if user.get("tz") else None,
        locale=str(user["locale"]) if user.get("locale") else None,
        is_bot=bool(user.get("is_bot")),
    )


class Directory:
    """Slack profiles by (workspace, user), looked up once per `ttl` per process."""

    def __init__(
        self,
        call: Call,
        sessions: async_sessionmaker[AsyncSession],
        *,
        ttl: float = 6 * 3600,
        limit: int = 50_000,
    ) -> None:
        self.call = call
        self.sessions = sessions
        self.ttl = ttl
        self.limit = limit
        self._profiles: dict[tuple[str, str], tuple[Profile | None, float]] = {}
        self._channels: set[tuple[str, str]] = set()

    def cached(self, workspace: str, user_id: str) -> Profile | None:
        found = self._profiles.get((workspace, user_id))
        return found[0] if found is not None and found[1] > time.monotonic() else None

    async def profile(self, workspace: str, user_id: str) -> Profile | None:
        """The user's profile: from memory, else `users.info` (None if Slack would not say)."""
        found = self._profiles.get((workspace, user_id))
        if found is not None and found[1] > time.monotonic():
            return found[0]
        profile: Profile | None = None
        try:
            data = await self.call(workspace or None, "users.info", user=user_id, include_locale=True)
            user = data.get("user")
            if isinstance(user, dict):
                profile = profile_from(user)
        except Exception as exc:  # a profile is nice to have: never fail the request for it
            log.warning("users.info for %s in %s failed: %s", user_id, workspace, exc)
            return None
        if len(self._profiles) >= self.limit:
            self._profiles.clear()
        self._profiles[(workspace, user_id)] = (profile, time.monotonic() + self.ttl)
        if profile is not None:
            async with self.sessions() as session, session.begin():
                await slack_users.store_profile(session, user_id, profile.name, profile.timezone)
        return profile

    async def first_contact(self, workspace: str, user_id: str, channel_id: str) -> Profile | None:
        """On a request from `user_id` in `channel_id`: record the workspace, look the person up."""
        new_channel = bool(channel_id) and (workspace, channel_id) not in self._channels
        known = self._profiles.get((workspace, user_id))
        if new_channel or known is None:
            async with self.sessions() as session, session.begin():
                await slack_users.learn_workspace(
                    session, workspace, user_id if known is None else "", channel_id if new_channel else ""
                )
            if new_channel:
                self._channels.add((workspace, channel_id))
        return await self.profile(workspace, user_id)
